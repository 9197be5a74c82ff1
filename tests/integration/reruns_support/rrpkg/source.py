"""Data produced outside the pipeline."""
import luisy


@luisy.raw
class Source(luisy.ExternalTask):
    """<working_dir>/<project>/raw/Source.pkl, written by the test."""
