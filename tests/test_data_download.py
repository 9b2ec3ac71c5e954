"""Downloads against a local HTTP server on 127.0.0.1 (never the real network): mirrors, checksums,
atomic cache writes, the offline message, cache hits."""

import dataclasses
import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest

from cnnlab.data import ChecksumError, DownloadError, FileSpec, load_dataset, sources
from cnnlab.data import download as dl


def idx_bytes(arr: np.ndarray) -> bytes:
    """An uncompressed IDX file (uint8) holding ``arr``."""
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def fake_mnist_files():
    """Four tiny MNIST-format files (.gz bytes by name) and their FileSpecs (md5 of the .gz)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.array([0, 1, 2, 3, 9], dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([7, 4], dtype=np.uint8),
    }
    blobs = {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in arrays.items()}
    specs = tuple(FileSpec(name, md5=(hashlib.md5(b).hexdigest(),)) for name, b in blobs.items())
    return arrays, blobs, specs


class Server:
    """A bounded local HTTP server: ``routes`` maps a path to bytes; anything else is a 404."""

    def __init__(self, routes):
        self.routes, self.requests = routes, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    servers = []

    def make(routes):
        servers.append(Server(routes))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def use_fake_mnist(monkeypatch, mirrors, specs):
    fake = dataclasses.replace(sources.SOURCES["mnist"], mirrors=tuple(mirrors), files=specs)
    monkeypatch.setitem(sources.SOURCES, "mnist", fake)


def folder_listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_second_mirror_used_when_first_404s(server, tmp_path):
    _, blobs, specs = fake_mnist_files()
    srv = server({f"/good/{n}": b for n, b in blobs.items()})
    spec = specs[1]
    content = dl.fetch(spec, [f"{srv.url}/missing/", f"{srv.url}/good/"], tmp_path, timeout=5)
    assert content == gzip.decompress(blobs[spec.filename])
    assert srv.requests == [f"/missing/{spec.filename}", f"/good/{spec.filename}"]
    assert folder_listing(tmp_path) == [spec.filename]  # no temporary file left behind
    assert (tmp_path / spec.filename).read_bytes() == blobs[spec.filename]


def test_corrupted_download_rejected_and_not_cached(server, tmp_path):
    _, blobs, specs = fake_mnist_files()
    spec = specs[0]
    corrupted = bytearray(blobs[spec.filename])
    corrupted[100] ^= 0xFF
    srv = server({f"/bad/{spec.filename}": bytes(corrupted)})
    with pytest.raises(DownloadError, match="checksum mismatch|not a valid gzip"):
        dl.fetch(spec, [f"{srv.url}/bad/"], tmp_path, timeout=5)
    assert folder_listing(tmp_path) == []


def test_corrupted_first_mirror_then_good_second(server, tmp_path):
    _, blobs, specs = fake_mnist_files()
    spec = specs[2]
    srv = server(
        {f"/bad/{spec.filename}": gzip.compress(b"\0\0\x08\x03garbage"), f"/good/{spec.filename}": blobs[spec.filename]}
    )
    dl.fetch(spec, [f"{srv.url}/bad/", f"{srv.url}/good/"], tmp_path, timeout=5)
    assert (tmp_path / spec.filename).read_bytes() == blobs[spec.filename]
    assert folder_listing(tmp_path) == [spec.filename]


def test_load_dataset_downloads_then_hits_cache_without_network(server, tmp_path, monkeypatch):
    arrays, blobs, specs = fake_mnist_files()
    srv = server({f"/m/{n}": b for n, b in blobs.items()})
    use_fake_mnist(monkeypatch, [f"{srv.url}/nothing/", f"{srv.url}/m/"], specs)
    ds = load_dataset("mnist", cache_dir=tmp_path)
    assert ds.x_train.shape == (5, 1, 28, 28) and ds.x_test.shape == (2, 1, 28, 28)
    np.testing.assert_array_equal(
        ds.x_train[:, 0].numpy() * 255, arrays["train-images-idx3-ubyte.gz"].astype(np.float32)
    )
    assert ds.y_train.tolist() == [0, 1, 2, 3, 9] and ds.y_test.tolist() == [7, 4]
    assert folder_listing(tmp_path / "mnist") == sorted(blobs)

    # Second load: every mirror is dead, the cache must suffice.
    use_fake_mnist(monkeypatch, [closed_port_url()], specs)
    n_requests = len(srv.requests)
    again = load_dataset("mnist", cache_dir=tmp_path)
    assert len(srv.requests) == n_requests
    assert again.y_train.tolist() == [0, 1, 2, 3, 9]


def test_cache_dir_from_environment(server, tmp_path, monkeypatch):
    _, blobs, specs = fake_mnist_files()
    srv = server({f"/m/{n}": b for n, b in blobs.items()})
    use_fake_mnist(monkeypatch, [f"{srv.url}/m/"], specs)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "env-cache"))
    load_dataset("mnist")
    assert folder_listing(tmp_path / "env-cache" / "mnist") == sorted(blobs)


def test_corrupted_cache_file_is_replaced(server, tmp_path, monkeypatch):
    _, blobs, specs = fake_mnist_files()
    srv = server({f"/m/{n}": b for n, b in blobs.items()})
    use_fake_mnist(monkeypatch, [f"{srv.url}/m/"], specs)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)
    (folder / specs[0].filename).write_bytes(b"truncated")
    ds = load_dataset("mnist", cache_dir=tmp_path)
    assert srv.requests == [f"/m/{specs[0].filename}"]  # only the bad file was fetched again
    assert (folder / specs[0].filename).read_bytes() == blobs[specs[0].filename]
    assert len(ds.y_train) == 5


def test_offline_message_names_data_dir_and_cache(tmp_path, monkeypatch):
    _, _, specs = fake_mnist_files()
    use_fake_mnist(monkeypatch, [closed_port_url(), closed_port_url()], specs)
    with pytest.raises(DownloadError) as info:
        load_dataset("mnist", cache_dir=tmp_path)
    message = str(info.value)
    assert "--data-dir DIR" in message and "data_dir=DIR" in message
    assert str(tmp_path / "mnist") in message and "CNNLAB_DATA" in message
    assert "train-images-idx3-ubyte.gz" in message and "127.0.0.1" in message
    assert isinstance(info.value, FileNotFoundError)  # the CLI prints it without a traceback
    assert folder_listing(tmp_path / "mnist") == []


def test_download_false_never_touches_network(server, tmp_path, monkeypatch):
    _, blobs, specs = fake_mnist_files()
    srv = server({f"/m/{n}": b for n, b in blobs.items()})
    use_fake_mnist(monkeypatch, [f"{srv.url}/m/"], specs)
    with pytest.raises(DownloadError, match="download=False"):
        load_dataset("mnist", cache_dir=tmp_path, download=False)
    assert srv.requests == []


def test_data_dir_never_touches_network(tmp_path, monkeypatch):
    _, blobs, specs = fake_mnist_files()
    use_fake_mnist(monkeypatch, ["http://127.0.0.1:9/never/"], specs)

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(dl.urllib.request, "urlopen", no_network)
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob)
    assert load_dataset("mnist", data_dir=tmp_path).y_test.tolist() == [7, 4]


def test_data_dir_with_corrupted_file_is_refused(tmp_path, monkeypatch):
    _, blobs, specs = fake_mnist_files()
    use_fake_mnist(monkeypatch, ["http://127.0.0.1:9/never/"], specs)
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob)
    (tmp_path / specs[3].filename).write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x01\x05"))
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        load_dataset("mnist", data_dir=tmp_path)


def test_verify_accepts_recompressed_gz_by_content_md5():
    content = idx_bytes(np.arange(6, dtype=np.uint8))
    original = gzip.compress(content, compresslevel=9, mtime=0)
    spec = FileSpec(
        "a-idx1-ubyte.gz", md5=(hashlib.md5(original).hexdigest(),), content_md5=hashlib.md5(content).hexdigest()
    )
    recompressed = gzip.compress(content, compresslevel=1, mtime=12345)
    assert recompressed != original
    assert dl.verify(recompressed, spec) == content
    assert dl.verify(original, spec) == content
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        dl.verify(gzip.compress(content + b"x"), spec)
    with pytest.raises(ChecksumError, match="not a valid gzip file"):
        dl.verify(b"plain bytes", spec)


def test_verify_accepts_sha256():
    blob = b"some archive"
    spec = FileSpec("x.tar.gz", sha256=(hashlib.sha256(blob).hexdigest(),))
    assert dl.verify(blob, spec) == blob  # a tarball is returned as is, not gunzipped
    with pytest.raises(ChecksumError, match="sha256"):
        dl.verify(blob + b"!", spec)


def test_mnist_catalogue_matches_shared_raw_md5():
    """The catalogue's content md5s are the official ones listed next to the real files."""
    from pathlib import Path

    raw = Path("/work/shared/data/mnist/RAW_MD5")
    if not raw.exists():
        pytest.skip("shared MNIST folder not available")
    listed = dict(line.split()[::-1] for line in raw.read_text().splitlines() if line.strip())
    for spec in sources.SOURCES["mnist"].files:
        assert listed[spec.filename.removesuffix(".gz")] == spec.content_md5
