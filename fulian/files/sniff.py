"""What a file really is, judged by its bytes (magic numbers), never by the client's name or Content-Type.

No Django here. ``sniff(data)`` returns the key of a known type or None; ``inspect_zip`` tells a DOCX from
an XLSX by its ``[Content_Types].xml`` and refuses zip bombs.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    key: str
    kind: str  # "image" | "document"
    content_type: str
    ext: str  # the extension the stored file gets
    label: str  # for messages


TYPES: dict[str, FileType] = {
    t.key: t
    for t in (
        FileType("jpeg", "image", "image/jpeg", "jpg", "JPG 图片"),
        FileType("png", "image", "image/png", "png", "PNG 图片"),
        FileType("heic", "image", "image/heic", "heic", "HEIC 图片"),
        FileType("pdf", "document", "application/pdf", "pdf", "PDF 文档"),
        FileType(
            "docx",
            "document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
            "Word 文档(DOCX)",
        ),
        FileType(
            "xlsx",
            "document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
            "Excel 表格(XLSX)",
        ),
        FileType("doc", "document", "application/msword", "doc", "Word 文档(DOC)"),
        FileType("xls", "document", "application/vnd.ms-excel", "xls", "Excel 表格(XLS)"),
        FileType("txt", "document", "text/plain; charset=utf-8", "txt", "文本文件(TXT)"),
    )
}

EXTENSIONS: dict[str, str] = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "png": "png",
    "heic": "heic",
    "heif": "heic",
    "pdf": "pdf",
    "docx": "docx",
    "xlsx": "xlsx",
    "doc": "doc",
    "xls": "xls",
    "txt": "txt",
}

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}

# Zip bombs: limits on what an Office file may unpack to.
ZIP_MAX_ENTRIES = 5000
ZIP_MAX_TOTAL = 200 * 1024 * 1024  # bytes uncompressed, all entries together
ZIP_MAX_RATIO = 100  # uncompressed / compressed, per entry and overall
ZIP_CONTENT_TYPES_MAX = 1024 * 1024

WORD_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


class ZipBomb(Exception):
    pass


def extension_of(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base.strip(".") else ""


def sniff(data: bytes) -> str | None:
    """The type key of ``data`` by its content, or None. Zip containers need ``inspect_zip`` for the rest."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "heic"
    if data[:1024].lstrip(b"\x00\t\r\n ").startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(OLE_MAGIC):
        return _ole_kind(data)
    if _is_text(data):
        return "txt"
    return None


def _ole_kind(data: bytes) -> str | None:
    """DOC and XLS share the OLE2 header; their main stream's name tells them apart."""
    if "WordDocument".encode("utf-16-le") in data:
        return "doc"
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    return None


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
        return controls == 0
    return False


def inspect_zip(data: bytes) -> str | None:
    """ "docx", "xlsx" or None for a zip that is neither; raises ZipBomb for a suspicious archive.

    Declared sizes are checked first (cheap); then every entry is actually inflated against the budget, so
    an archive that lies about its sizes fails its CRC check or the budget instead of filling the memory.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return None
    with zf:
        infos = zf.infolist()
        if len(infos) > ZIP_MAX_ENTRIES:
            raise ZipBomb(f"{len(infos)} entries")
        declared = sum(i.file_size for i in infos)
        if declared > ZIP_MAX_TOTAL or declared > ZIP_MAX_RATIO * max(len(data), 1):
            raise ZipBomb(f"declared {declared} bytes")
        for info in infos:
            if info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1024 * 1024:
                raise ZipBomb(f"{info.filename}: ratio")
        content_types = b""
        budget = min(ZIP_MAX_TOTAL, ZIP_MAX_RATIO * max(len(data), 1))
        try:
            for info in infos:
                if info.is_dir():
                    continue
                with zf.open(info) as member:
                    keep = info.filename == "[Content_Types].xml"
                    while chunk := member.read(1024 * 1024):
                        budget -= len(chunk)
                        if budget < 0:
                            raise ZipBomb("inflated beyond budget")
                        if keep and len(content_types) < ZIP_CONTENT_TYPES_MAX:
                            content_types += chunk
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            NotImplementedError,
            RuntimeError,
            OSError,
            EOFError,
            zlib.error,
        ):
            return None
    if WORD_MAIN in content_types:
        return "docx"
    if EXCEL_MAIN in content_types:
        return "xlsx"
    return None
