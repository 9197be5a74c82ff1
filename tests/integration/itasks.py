"""Task classes for the integration tests (a module so subprocesses can import them)."""
import time

import luisy


@luisy.project_name("itest")
@luisy.raw
class Leaf(luisy.Task):
    i = luisy.IntParameter()
    sleep = luisy.FloatParameter(default=0.0)

    def run(self):
        start = time.time()
        self.logger.info("leaf %s says hello", self.i)
        time.sleep(self.sleep)
        self.write({"i": self.i, "start": start, "end": time.time()})


@luisy.project_name("itest")
@luisy.final
class FanIn(luisy.Task):
    n = luisy.IntParameter(default=5)
    sleep = luisy.FloatParameter(default=0.0)

    def requires(self):
        return [Leaf(i=i, sleep=self.sleep) for i in range(self.n)]

    def run(self):
        self.write(sum(t.read()["i"] for t in self.input()))


@luisy.project_name("itest")
@luisy.interim
class Broken(luisy.Task):
    def run(self):
        raise ValueError("boom in Broken")


@luisy.project_name("itest")
@luisy.interim
@luisy.requires(Broken)
class AfterBroken(luisy.Task):
    def run(self):
        self.write("never")


@luisy.project_name("itest")
@luisy.final
class Mixed(luisy.WrapperTask):
    """One failing branch, one healthy branch."""

    def requires(self):
        return {"bad": AfterBroken(), "good": Leaf(i=100)}


@luisy.project_name("itest")
@luisy.raw
@luisy.json_output
class Named(luisy.Task):
    label = luisy.Parameter()

    def run(self):
        self.write({"label": self.label})


@luisy.project_name("itest")
@luisy.raw
class Upstream(luisy.Task):
    def run(self):
        self.write(1)


@luisy.project_name("itest")
@luisy.interim
@luisy.requires(Upstream)
class Left(luisy.Task):
    def run(self):
        self.write(self.input().read() + 1)


@luisy.project_name("itest")
@luisy.interim
@luisy.requires(Upstream)
class Right(luisy.Task):
    def run(self):
        self.write(self.input().read() + 2)


@luisy.project_name("itest")
@luisy.final
@luisy.requires(Left, Right, as_dict=True)
class Diamond(luisy.Task):
    def run(self):
        self.write({k: v.read() for k, v in self.input().items()})


@luisy.project_name("itest")
@luisy.csv_output
class Delivered(luisy.ExternalTask):
    name = luisy.Parameter(default="delivery")


@luisy.project_name("itest")
@luisy.interim
@luisy.requires(Delivered)
class UsesDelivery(luisy.Task):
    def run(self):
        self.write(self.input().read())


@luisy.project_name("itest")
@luisy.interim
class HalfWriter(luisy.Task):
    """Fails inside write: a pickle of an object that cannot be pickled, halfway through."""

    def run(self):
        self.write([1, 2, lambda: None])


@luisy.project_name("itest")
@luisy.interim
class CycleA(luisy.Task):
    def requires(self):
        return CycleB()


@luisy.project_name("itest")
@luisy.interim
class CycleB(luisy.Task):
    def requires(self):
        return CycleA()


@luisy.project_name("itest")
@luisy.interim
@luisy.prefect_options(retries=2, retry_delay_seconds=0, tags=["flaky", "io"])
class Flaky(luisy.Task):
    """Fails on its first two attempts (counted in a file), then succeeds."""

    def run(self):
        import pathlib

        counter = pathlib.Path(self.output().path + ".attempts")
        counter.parent.mkdir(parents=True, exist_ok=True)
        attempts = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(attempts))
        if attempts < 3:
            raise RuntimeError(f"attempt {attempts} fails")
        self.write(attempts)



@luisy.project_name("itest")
@luisy.raw
@luisy.prefect_options(group_size=4)
class Tiny(luisy.Task):
    """Many of these share task runs; ``bad`` ones fail."""

    i = luisy.IntParameter()
    bad = luisy.BoolParameter(default=False)

    def run(self):
        if self.bad:
            raise ValueError(f"tiny {self.i} is bad")
        self.write(self.i)


@luisy.project_name("itest")
@luisy.final
class TinyFanIn(luisy.Task):
    n = luisy.IntParameter(default=10)
    bad = luisy.ListParameter(default=[])

    def requires(self):
        return [Tiny(i=i, bad=i in self.bad) for i in range(self.n)]

    def run(self):
        self.write(sum(t.read() for t in self.input()))


@luisy.project_name("itest")
class Printer(luisy.Task):
    def run(self):
        print("Printer says hello")
        print("half a line", end="")
        print(", on one line")
        self.write(1)
