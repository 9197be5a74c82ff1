"""Tasks exercising where outputs go and how they are named."""
import luisy


@luisy.raw
class WithSubDir(luisy.Task):
    b = luisy.IntParameter(default=2)
    a = luisy.Parameter(default="x")

    def get_sub_dir(self):
        return "sub/dir"


class NoLayer(luisy.Task):
    a = luisy.Parameter(default="x")


class NoLayerSubDir(luisy.Task):
    a = luisy.Parameter(default="x")

    def get_sub_dir(self):
        return "nested"


@luisy.project_name("other_project")
@luisy.final
class Renamed(luisy.Task):
    pass


@luisy.interim
@luisy.auto_filename(excl_params=["b"])
class Excluded(luisy.Task):
    a = luisy.IntParameter(default=1)
    b = luisy.IntParameter(default=2)


@luisy.interim
@luisy.auto_filename(excl_none=True)
class ExclNone(luisy.Task):
    a = luisy.Parameter(default=None)
    b = luisy.IntParameter(default=2)


@luisy.interim
@luisy.auto_filename
class KeepNone(luisy.Task):
    a = luisy.Parameter(default=None)
    b = luisy.IntParameter(default=2)


@luisy.interim
@luisy.auto_filename()
class Lists(luisy.Task):
    values = luisy.ListParameter(default=["a b", "c/d", 3])
    text = luisy.Parameter(default="x y/z")


@luisy.interim
class Custom(luisy.Task):
    def get_file_name(self):
        return "my_report"


@luisy.interim
@luisy.csv_output
class EndsWithExtension(luisy.Task):
    def get_file_name(self):
        return "table.csv"


@luisy.interim
@luisy.csv_output
class EndsWithOtherExtension(luisy.Task):
    def get_file_name(self):
        return "table.pkl"
