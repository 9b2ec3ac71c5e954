"""MNIST-style preprocessing of drawn digits, image decoding errors, folder datasets."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnnlab.data import load_dataset, load_image, preprocess_digit, read_grey


def draw_seven(ink=0, paper=255, size=(120, 90), mode="L"):
    """A '7' with a heavy top bar, off centre, ink on paper, as a paint program would draw it."""
    im = Image.new(mode, size, paper)
    d = ImageDraw.Draw(im)
    d.line([(20, 20), (75, 20)], fill=ink, width=9)
    d.line([(75, 20), (40, 100)], fill=ink, width=7)
    return im


def centre_of_mass(a):
    rows, cols = np.indices(a.shape)
    return (rows * a).sum() / a.sum(), (cols * a).sum() / a.sum()


def ink_box(a, level=0.0):
    rows = np.flatnonzero((a > level).any(axis=1))
    cols = np.flatnonzero((a > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_light_and_dark_backgrounds_give_the_same_digit(tmp_path):
    draw_seven(ink=0, paper=255).save(tmp_path / "light.png")
    draw_seven(ink=255, paper=0).save(tmp_path / "dark.png")
    light, dark = load_image(tmp_path / "light.png"), load_image(tmp_path / "dark.png")
    assert light.shape == (28, 28) and light.dtype == np.float32
    np.testing.assert_allclose(light, dark, atol=1e-6)
    assert light.min() >= 0 and light.max() == pytest.approx(1.0, abs=0.02)
    assert light[0].max() == 0 and light[:, 0].max() == 0  # background is black, like MNIST


def test_centre_of_mass_and_box_size(tmp_path):
    draw_seven().save(tmp_path / "seven.png")
    out = load_image(tmp_path / "seven.png")
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert max(ink_box(out)) == 20


def test_wide_digit_keeps_aspect_ratio():
    img = np.zeros((50, 200))
    img[20:30, 10:190] = 1.0  # a horizontal bar, 180 x 10 -> 20 x 1.1
    out = preprocess_digit(img)
    h, w = ink_box(out)
    assert w == 20 and h <= 2


def test_colour_and_alpha_are_composited_over_white(tmp_path):
    grey = draw_seven(ink=0, paper=255)
    rgba = Image.new("RGBA", grey.size, (0, 0, 0, 0))  # transparent (black!) background
    rgba.putalpha(Image.eval(grey, lambda v: 255 - v))  # opaque black where the ink is
    rgba.save(tmp_path / "alpha.png")
    grey.convert("RGB").save(tmp_path / "rgb.png")
    grey.save(tmp_path / "grey.png")
    expected = load_image(tmp_path / "grey.png")
    np.testing.assert_allclose(load_image(tmp_path / "alpha.png"), expected, atol=1e-6)
    np.testing.assert_allclose(load_image(tmp_path / "rgb.png"), expected, atol=1e-6)


def test_grey_paper_photo_is_normalised():
    img = np.full((60, 60), 0.7)  # grey paper, dark grey ink
    img[10:50, 28:33] = 0.2
    out = preprocess_digit(img)
    assert out.max() == pytest.approx(1.0, abs=1e-6) and out[0, 0] == 0


def test_blank_image_has_no_ink(tmp_path):
    Image.new("L", (40, 40), 250).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match=r"blank.png: no ink"):
        load_image(tmp_path / "blank.png")


def test_corrupt_file_cannot_be_decoded(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    with pytest.raises(ValueError, match=r"cannot decode image .*broken.png: "):
        load_image(path)


def test_truncated_file_cannot_be_decoded(tmp_path):
    draw_seven().save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot decode image .*cut.png"):
        load_image(tmp_path / "cut.png")


def png_claiming(width, height) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb without the memory."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


def test_oversize_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(7_000, 7_000))  # 49 MP: over our limit, under PIL's
    with pytest.raises(ValueError, match=r"larger than the limit of 40000000 pixels.*7000x7000"):
        load_image(path)
    path.write_bytes(png_claiming(20_000, 20_000))  # PIL itself refuses this one at open
    with pytest.raises(ValueError, match=r"larger than the limit of 40000000 pixels"):
        load_image(path)
    small = tmp_path / "small.png"
    Image.new("L", (30, 30)).save(small)
    with pytest.raises(ValueError, match="limit of 100 pixels"):
        read_grey(small, max_pixels=100)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="image file not found"):
        load_image(tmp_path / "nope.png")


def test_preprocess_rejects_bad_arrays():
    with pytest.raises(ValueError, match=r"expected a 2-D grey image \(H, W\), got shape \(4, 4, 3\)"):
        preprocess_digit(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match=r"values in \[0, 1\], got \[0, 2\]"):
        preprocess_digit(np.array([[0.0, 2.0], [0.0, 0.0]]))


def make_class_folders(root, per_class=5, classes=("cat", "apple", "bee")):
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            im = Image.new("L", (40, 40), 255)
            ImageDraw.Draw(im).rectangle([5 + i, 5 + 3 * k, 20 + i, 30], fill=0)
            im.save(root / name / f"{i}.png")
    (root / classes[0] / "notes.txt").write_text("not an image")


def test_folder_dataset_with_split(tmp_path):
    make_class_folders(tmp_path)
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds.classes == ["apple", "bee", "cat"]  # sorted sub-folder names
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (3, 1, 28, 28)
    assert sorted(ds.y_test.tolist()) == [0, 1, 2]  # 20% of each class of 5
    again = load_dataset(f"folder:{tmp_path}")
    assert np.array_equal(ds.x_test.numpy(), again.x_test.numpy())  # fixed split


def test_folder_dataset_with_train_test_layout(tmp_path):
    make_class_folders(tmp_path / "train", per_class=3)
    make_class_folders(tmp_path / "test", per_class=1, classes=("bee", "cat"))
    ds = load_dataset(f"folder:{tmp_path}")
    assert ds.classes == ["apple", "bee", "cat"]
    assert len(ds.y_train) == 9 and ds.y_test.tolist() == [1, 2]


def test_folder_dataset_errors(tmp_path):
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        load_dataset(f"folder:{tmp_path / 'absent'}")
    with pytest.raises(ValueError, match="has no class sub-folders"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="empty_class has no images"):
        load_dataset(f"folder:{tmp_path}")


@pytest.mark.parametrize("mode", ["I", "F"])
def test_32_bit_tiff_in_0_255_reads_as_the_digit(tmp_path, mode):
    pixels = np.full((60, 40), 255, np.int32)
    pixels[10:50, 15:25] = 0  # a dark stroke on white paper
    path = tmp_path / f"digit-{mode}.tif"
    Image.fromarray(pixels if mode == "I" else pixels.astype(np.float32), mode=None if mode == "I" else "F").save(path)
    assert Image.open(path).mode == mode
    grey = read_grey(path)
    assert grey.min() == 0.0 and grey.max() == 1.0  # read by its range (8-bit values), not as blank
    assert load_image(path).max() == 1.0
