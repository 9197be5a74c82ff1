"""One task per output decorator, bare and called."""
import luisy


class _Base(luisy.Task):
    part = luisy.IntParameter(default=1)


@luisy.interim
@luisy.pickle_output
class PickleBare(_Base):
    pass


@luisy.interim
@luisy.pickle_output(protocol=2)
class PickleCalled(_Base):
    pass


@luisy.interim
@luisy.csv_output
class CsvBare(_Base):
    pass


@luisy.interim
@luisy.csv_output(sep=";", usecols=["a"])
class CsvCalled(_Base):
    pass


@luisy.interim
@luisy.json_output
class JsonBare(_Base):
    pass


@luisy.interim
@luisy.json_output(indent=1)
class JsonCalled(_Base):
    pass


@luisy.interim
@luisy.xlsx_output
class XlsxBare(_Base):
    pass


@luisy.interim
@luisy.xlsx_output(index_col=0)
class XlsxCalled(_Base):
    pass


@luisy.interim
@luisy.hdf_output
class HdfBare(_Base):
    pass


@luisy.interim
@luisy.hdf_output(key="frame")
class HdfCalled(_Base):
    pass


@luisy.interim
@luisy.feather_output
class FeatherBare(_Base):
    pass


@luisy.interim
@luisy.feather_output(columns=["a"])
class FeatherCalled(_Base):
    pass


@luisy.interim
@luisy.parquet_output
class ParquetBare(_Base):
    pass


@luisy.interim
@luisy.parquet_output(columns=["a"])
class ParquetCalled(_Base):
    pass


@luisy.interim
@luisy.parquetdir_output(outdir="pq_folder")
class ParquetDirOutdir(_Base):
    pass


@luisy.interim
@luisy.parquetdir_output
class ParquetDirFolderName(_Base):
    def get_folder_name(self):
        return f"parts_{self.part}"


def read_text(path):
    with open(path) as fh:
        text = fh.read()
    return None if text.startswith("skip") else text


@luisy.raw
@luisy.make_directory_output(read_text, regex_pattern=r"\.txt$")
class TextFolder(luisy.ExternalTask):
    def get_folder_name(self):
        return "texts"


@luisy.raw
@luisy.make_directory_output(lambda path: path.rsplit("/", 1)[-1])
class AnyFileFolder(luisy.ExternalTask):
    def get_folder_name(self):
        return "texts"
