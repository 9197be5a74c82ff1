"""``LoadCheck(n)`` waits for ``n`` trivial ``Ping`` tasks: n + 1 task runs in one flow run.

It exists to check that a Prefect server (and work pool) keeps up with luisy's task-run rate:
every task run must end Completed on the server and the flow-run graph must load. Complete pings
are skipped like any complete task (and then cost no task run), so give each check a new
``label`` or a fresh working dir.

Run it: ``luisy --module flows.loadcheck.tasks LoadCheck --n 3000 --working-dir /tmp/lc --no-ask``.
"""
import luisy


@luisy.project_name("loadcheck")
@luisy.interim
class Ping(luisy.Task):
    """Writes its own number: as cheap as a task with an output gets."""

    i = luisy.IntParameter()
    label = luisy.Parameter(default="check")

    def run(self):
        self.write(self.i)


@luisy.project_name("loadcheck")
@luisy.final
@luisy.json_output
class LoadCheck(luisy.Task):
    """Fan-in: reads every ping, so it also checks that all of them wrote."""

    n = luisy.IntParameter(default=100, description="How many trivial tasks fan in.")
    label = luisy.Parameter(default="check",
                            description="Part of every task's name: a new label, new tasks.")

    def requires(self):
        return [Ping(i=i, label=self.label) for i in range(self.n)]

    def run(self):
        total = sum(task.read() for task in self.input())
        self.logger.info("%s: %d pings, sum %d", self, self.n, total)
        self.write({"pings": self.n, "sum": total})
