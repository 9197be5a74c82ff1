"""A small pipeline: wiring with requires/inherits, layers, wrappers and concatenation."""
import luisy


@luisy.raw
class Source(luisy.ExternalTask):
    region = luisy.Parameter(default="north")


@luisy.interim
@luisy.requires(Source)
class Cleaned(luisy.Task):
    factor = luisy.IntParameter(default=2)

    def run(self):
        self.write({"region": self.region, "factor": self.factor})


@luisy.interim
@luisy.requires(Source)
class Counted(luisy.Task):
    region = luisy.Parameter(default="south")  # its own parameter wins over Source's

    def run(self):
        self.write(len(self.region))


@luisy.final
@luisy.requires(Cleaned, Counted)
class Both(luisy.Task):
    pass


@luisy.final()
@luisy.requires(Cleaned, Counted, as_dict=True)
class BothDict(luisy.Task):
    pass


@luisy.inherits(Cleaned)
class Inheriting(luisy.Task):
    extra = luisy.IntParameter(default=7)


@luisy.requires(Cleaned, Counted)
class Wrapped(luisy.WrapperTask):
    pass


@luisy.requires(Cleaned, Counted, as_dict=True)
class WrappedDict(luisy.WrapperTask):
    pass


@luisy.interim
class Part(luisy.Task):
    idx = luisy.IntParameter()


@luisy.final
@luisy.csv_output
class Concat(luisy.ConcatenationTask):
    def requires(self):
        return [Part(idx=i) for i in range(3)]

    def preprocess(self, df):
        return df.assign(doubled=df["value"] * 2).reset_index(drop=True)


class Yielding(luisy.Task):
    """luigi style: requires() yields its tasks."""

    def requires(self):
        for factor in (1, 2):
            yield Cleaned(factor=factor)


class RequiresSet(luisy.Task):
    def requires(self):
        return {Cleaned(factor=1), Cleaned(factor=2)}
