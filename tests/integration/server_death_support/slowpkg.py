"""Tasks slow enough that a Prefect server can be killed while a build runs them."""
import time

import luisy


@luisy.interim
@luisy.project_name("sd")
@luisy.pickle_output
class Slow(luisy.Task):
    i = luisy.IntParameter()

    def run(self):
        time.sleep(0.25)
        self.write({"i": self.i})


@luisy.project_name("sd")
class Root(luisy.WrapperTask):
    n = luisy.IntParameter(default=80)

    def requires(self):
        return [Slow(i=i) for i in range(self.n)]
