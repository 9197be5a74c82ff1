"""A pipeline written with luisy 1.x idioms only (the compatibility tests build it)."""
import os
import pickle

import luisy


@luisy.project_name("l1proj")
@luisy.interim
class WritesItsOwnFile(luisy.Task):
    """luisy 1.x created the output's folder, so run() may write to the path itself."""

    a = luisy.IntParameter(default=1)

    def run(self):
        print(f"hello from {self}")  # 1.x users see their prints on the console
        with open(self.output().path, "wb") as fh:
            pickle.dump({"a": self.a, "folder_existed": True}, fh)


@luisy.project_name("l1proj")
@luisy.interim
@luisy.csv_output
class ToyTask(luisy.Task):
    task_namespace = "ABC"
    a = luisy.IntParameter(default=1)

    def run(self):
        import pandas as pd

        self.write(pd.DataFrame({"a": [self.a]}))


@luisy.project_name("l1proj")
@luisy.final
@luisy.requires(ToyTask, WritesItsOwnFile, as_dict=True)
class Both(luisy.Task):
    def run(self):
        self.write({key: os.path.basename(t.path) for key, t in self.input().items()})


@luisy.project_name("l1proj")
@luisy.raw
@luisy.csv_output
class Delivered(luisy.ExternalTask):
    def get_file_name(self):
        return "delivered"


@luisy.project_name("l1proj")
@luisy.final
@luisy.requires(Delivered)
class UsesDelivery(luisy.Task):
    def run(self):
        self.write(len(self.input().read()))
