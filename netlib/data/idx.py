r"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a header followed by the raw array, all big-endian:

=========  ==========================================================
bytes      meaning
=========  ==========================================================
0, 1       zero (the magic number's first two bytes)
2          element type: ``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16,
           ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64
3          number of dimensions :math:`d`
4 … 4d+3   the :math:`d` sizes, each an unsigned 32-bit integer
then       :math:`\prod_k n_k` elements, row-major (C order)
=========  ==========================================================

So MNIST's training images start ``00 00 08 03`` (uint8, three dimensions),
then 60000, 28, 28. The files are usually distributed gzip-compressed; the
reader recognises gzip by its own magic bytes ``1f 8b``, not by the file name.

A reader of files from the internet must not trust the header. Everything the
header claims is checked *before* memory is allocated for it: the element count
is computed with Python integers (no overflow), compared with ``max_bytes``, and
then with the bytes actually present; a short or over-long file raises
``ValueError`` naming the file, what the header promised and what was found.

By default ``max_bytes`` is relative to the file's size on disk: an array may
be at most :data:`MAX_EXPANSION` times larger than the file (and
:data:`MIN_MAX_BYTES` in any case). Real IDX files compress 2 to 6 times;
gzip can expand about a thousand times, so without this a 4 MB file of
zeros could claim (and decompress to) 4 GB. A genuine file that compresses
better passes with an explicit ``max_bytes``.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

#: IDX element-type codes and the big-endian numpy dtype each stands for.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: Without an explicit ``max_bytes``, an array may be at most this many times
#: larger than its file: (Fashion-)MNIST's gzip files expand 2 to 6 times, a
#: crafted gzip stream about 1000 times.
MAX_EXPANSION = 100

#: ... and at most this large whatever the file's size (small files may hold
#: arrays a few MB large, e.g. a compressed label file of zeros).
MIN_MAX_BYTES = 16 * 2**20

#: numpy (1.x) supports at most 32 dimensions.
MAX_NDIM = 32

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20   # read compressed files one MiB of output at a time


def _read_exact(stream, count: int, who: str, what: str) -> bytes:
    """Read ``count`` bytes of the header or refuse the file as truncated."""
    data = stream.read(count)
    if len(data) != count:
        raise ValueError(f"{who}: truncated IDX file: expected {count} bytes of {what}, "
                         f"got {len(data)}")
    return data


def _parse_header(stream, who: str, max_bytes: int | None,
                  file_size: int) -> tuple[np.dtype, tuple[int, ...], int]:
    """Read and check the header; return (dtype, shape, expected body size in bytes)."""
    magic = _read_exact(stream, 4, who, "magic number")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise ValueError(
            f"{who}: not an IDX file: expected a magic number 00 00 <type> <ndim> with type "
            f"one of {', '.join(f'{code:#04x}' for code in IDX_DTYPES)}, got bytes "
            f"{magic.hex(' ')}")
    dtype, ndim = IDX_DTYPES[magic[2]], magic[3]
    if not 1 <= ndim <= MAX_NDIM:
        raise ValueError(f"{who}: malformed IDX header: expected 1 to {MAX_NDIM} dimensions, "
                         f"got {ndim}")
    shape = struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, who, "dimension sizes"))
    # Python integers do not overflow, so this product is the true claim even
    # for a forged header; numpy's int64 product could wrap around silently.
    count = math.prod(shape)
    if count > np.iinfo(np.intp).max:
        raise ValueError(f"{who}: malformed IDX header: dimensions {shape} multiply to "
                         f"{count} elements, which overflows the index range "
                         f"({np.iinfo(np.intp).max})")
    size = count * dtype.itemsize
    if max_bytes is None:
        limit = max(MAX_EXPANSION * file_size, MIN_MAX_BYTES)
        if size > limit:
            raise ValueError(
                f"{who}: IDX header claims shape {shape} of {dtype.name} ({size} bytes) "
                f"from a file of {file_size} bytes, more than the default limit of "
                f"{MAX_EXPANSION} times the file's size ({limit} bytes); refusing to "
                f"allocate it (pass max_bytes={size} if the file is genuine)")
    elif size > max_bytes:
        raise ValueError(f"{who}: IDX header claims shape {shape} of {dtype.name} "
                         f"({size} bytes), more than max_bytes={max_bytes}; refusing to "
                         f"allocate it (raise max_bytes if the file is genuine)")
    return dtype, shape, size


def _read_body_raw(stream, size: int, who: str) -> bytearray:
    """Body of an uncompressed file: its size is known before reading."""
    remaining = os.fstat(stream.fileno()).st_size - stream.tell()
    if remaining != size:
        problem = "truncated" if remaining < size else "over-long"
        raise ValueError(f"{who}: {problem} IDX file: the header promises {size} bytes of "
                         f"data, the file holds {remaining}")
    body = bytearray(size)
    if stream.readinto(body) != size:      # the file shrank while we read it
        raise ValueError(f"{who}: truncated IDX file while reading {size} bytes")
    return body


def _read_body_gzip(stream, size: int, who: str) -> bytearray:
    """Body of a compressed file, read in chunks so memory follows the real data.

    The uncompressed size of a gzip stream is not known in advance (its trailer
    stores it modulo 2**32), so we never allocate the header's claim up front:
    a forged header on a small file fails as "truncated" after reading the
    little that is there.
    """
    body = bytearray()
    try:
        while len(body) <= size:
            chunk = stream.read(min(_CHUNK, size + 1 - len(body)))
            if not chunk:
                break
            body += chunk
    except (EOFError, OSError, zlib.error) as error:
        raise ValueError(f"{who}: corrupt or truncated gzip stream after {len(body)} bytes "
                         f"of data ({error})") from None
    if len(body) != size:
        problem = "truncated" if len(body) < size else "over-long"
        found = len(body) if len(body) < size else f"more than {size}"
        raise ValueError(f"{who}: {problem} IDX file: the header promises {size} bytes of "
                         f"data, the file holds {found}")
    return body


def read_idx(path, *, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a numpy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is detected from the content.
    max_bytes : int, optional
        Largest array (in bytes) the header may ask for; larger claims are
        refused before any allocation. By default :data:`MAX_EXPANSION` times
        the file's size (at least :data:`MIN_MAX_BYTES`).

    Returns
    -------
    numpy.ndarray
        The array in native byte order, with the shape stored in the header.

    Raises
    ------
    ValueError
        On a wrong magic number, a malformed or oversized header, a truncated
        or over-long body, or a corrupt gzip stream. The message names the file.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> name = os.path.join(folder, "small-idx2-ubyte.gz")
    >>> write_idx(name, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(name)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    who = f"read_idx({str(path)!r})"
    with open(path, "rb") as raw:
        file_size = os.fstat(raw.fileno()).st_size
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if compressed:
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    dtype, shape, size = _parse_header(stream, who, max_bytes, file_size)
                    body = _read_body_gzip(stream, size, who)
            except (EOFError, OSError, zlib.error) as error:
                raise ValueError(f"{who}: corrupt or truncated gzip stream in the header "
                                 f"({error})") from None
        else:
            dtype, shape, size = _parse_header(raw, who, max_bytes, file_size)
            body = _read_body_raw(raw, size, who)
    array = np.frombuffer(body, dtype=dtype).reshape(shape)
    # Convert big-endian storage to the machine's byte order (a no-op for bytes).
    return array.astype(dtype.newbyteorder("="), copy=dtype.itemsize > 1)


def write_idx(path, array, *, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if the name ends in ``.gz``).

    Used to make test files and to export data in the MNIST format. The dtype
    must be one IDX can store (uint8, int8, int16, int32, float32, float64).
    """
    path = Path(path)
    array = np.ascontiguousarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(f"write_idx: expected an array of dtype uint8, int8, int16, int32, "
                        f"float32 or float64, got {array.dtype}")
    if not 1 <= array.ndim <= MAX_NDIM or max(array.shape) >= 2**32:
        raise ValueError(f"write_idx: expected 1 to {MAX_NDIM} dimensions each below 2**32, "
                         f"got shape {array.shape}")
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I",
                                                                   *array.shape)
    body = array.astype(native.newbyteorder(">")).tobytes()
    compress = path.name.endswith(".gz") if compress is None else compress
    if compress:
        # mtime=0 makes the compressed bytes reproducible (stable checksums).
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.write(header + body)
    else:
        path.write_bytes(header + body)
