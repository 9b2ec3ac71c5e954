"""The catalogue of downloadable datasets: file names, mirrors and published checksums.

Checksums come from the publishers and from torchvision (``torchvision/datasets/mnist.py`` and
``cifar.py``). The MNIST ``.gz`` files are not byte-identical across copies (some were recompressed),
so for MNIST the md5 of the *uncompressed* IDX content is also accepted; those four values are the
ones torchvision and tensorflow-datasets check, and they match ``shared/data/mnist/RAW_MD5``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset and the checksums that make it acceptable.

    A file is accepted when its md5 or sha256 is one of the listed values, or when the md5 of its
    gunzipped content equals ``content_md5``.

    Attributes:
        filename: the name on the mirrors and in a local folder, e.g. ``"train-images-idx3-ubyte.gz"``.
        md5, sha256: accepted digests of the file as distributed (hex, lower case).
        content_md5: md5 of the gunzipped content (MNIST-family ``.gz`` files only), or ``None``.

    Example:
        >>> FileSpec("a.gz", md5=("0" * 32,)).gunzip
        True
        >>> FileSpec("cifar-10-python.tar.gz", md5=("0" * 32,)).gunzip
        False
    """

    filename: str
    md5: tuple[str, ...] = ()
    sha256: tuple[str, ...] = ()
    content_md5: str | None = None

    @property
    def gunzip(self) -> bool:
        """Whether the loader wants the gunzipped content (a single ``.gz`` file, not a tarball)."""
        return self.filename.endswith(".gz") and not self.filename.endswith(".tar.gz")


@dataclass(frozen=True)
class RemoteSource:
    """A dataset that is downloaded: where from, which files, how to read them.

    Attributes:
        name: registry name, e.g. ``"mnist"``; also the sub-folder of the cache.
        description: one line for listings.
        mirrors: base URLs ending in ``/``, tried in order; a file's URL is ``mirror + filename``.
        files: the files, each with its checksums.
        format: ``"idx"`` (train images, train labels, test images, test labels, in that order)
            or ``"cifar-python"`` (the one tarball of CIFAR-10's python version).
        classes: class names, index = label.
        members: for ``"cifar-python"``, md5 of each batch inside the tarball.
    """

    name: str
    description: str
    mirrors: tuple[str, ...]
    files: tuple[FileSpec, ...]
    format: str
    classes: tuple[str, ...]
    members: dict[str, str] = field(default_factory=dict)


_IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _idx_files(md5s, sha256s=(None,) * 4, content_md5s=(None,) * 4) -> tuple[FileSpec, ...]:
    return tuple(
        FileSpec(name, md5=(m,), sha256=(s,) if s else (), content_md5=c)
        for name, m, s, c in zip(_IDX_NAMES, md5s, sha256s, content_md5s)
    )


SOURCES: dict[str, RemoteSource] = {
    "mnist": RemoteSource(
        name="mnist",
        description="MNIST handwritten digits, 60000/10000 grey 28x28 (LeCun, Cortes, Burges)",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        files=_idx_files(
            md5s=(
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
            sha256s=(
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
            content_md5s=(
                "6bbc9ace898e44ae57da46a324031adb",
                "a25bea736e30d166cdddb491f175f624",
                "2646ac647ad5339dbf082846283269ea",
                "27ae3e4e09519cfbb04c329615203637",
            ),
        ),
        format="idx",
        classes=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": RemoteSource(
        name="fashion-mnist",
        description="Fashion-MNIST clothing images, 60000/10000 grey 28x28 (Zalando Research)",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        files=_idx_files(
            md5s=(
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            )
        ),
        format="idx",
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
    "kmnist": RemoteSource(
        name="kmnist",
        description="Kuzushiji-MNIST cursive Japanese characters, 60000/10000 grey 28x28 (ROIS-CODH)",
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/", "https://codh.rois.ac.jp/kmnist/dataset/kmnist/"),
        files=_idx_files(
            md5s=(
                "bdb82020997e1d708af4cf47b453dcf7",
                "e144d726b3acfaa3e44228e80efcd344",
                "5c965bf0a639b31b8f53240b1b52f4d7",
                "7320c461ea6c1c855c0b718fb2a4b134",
            )
        ),
        format="idx",
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    ),
    "cifar10": RemoteSource(
        name="cifar10",
        description="CIFAR-10 colour photos, 50000/10000 RGB 32x32, 10 classes (Krizhevsky)",
        mirrors=("https://www.cs.toronto.edu/~kriz/", "http://www.cs.toronto.edu/~kriz/"),
        files=(FileSpec("cifar-10-python.tar.gz", md5=("c58f30108f718f92721af3b95e74349a",)),),
        format="cifar-python",
        classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        members={
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
        },
    ),
}
