"""The files that are a project (its database, journal files and backup folder), and
writing an output file whole or not at all, never over them."""
from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

from coder.errors import ExitStatus, InputError

BACKUP_FOLDER_SUFFIX = ".backups"  # coder.db -> coder.db.backups/


def backup_folder(db: Path) -> Path:
    return db.parent / (db.name + BACKUP_FOLDER_SUFFIX)


def project_files(db: Path) -> list[Path]:
    """The files that are the project: the database, its journal files and its backup folder."""
    db = Path(db)
    return [db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal"), backup_folder(db)]


def refuse_project_file(target: Path, db: Path | None) -> None:
    """Refuse to write `target` when it is (a link to, or another name for) the project
    database, one of its journal files, or anything in its backup folder: an export never
    replaces the project, --force or not. Compared by real path, and by device and inode
    where the files exist (a hard link has another path but the same inode)."""
    if db is None:
        return
    target = Path(target)
    real_target = os.path.realpath(target)
    try:
        target_id = _file_id(os.stat(target))
    except OSError:
        target_id = None
    for protected in project_files(db):
        real = os.path.realpath(protected)
        inside = real_target == real or real_target.startswith(real.rstrip(os.sep) + os.sep)
        same = False
        if target_id is not None:
            try:
                same = _file_id(os.stat(protected)) == target_id
                if not same and protected.is_dir():
                    same = any(_file_id(entry.stat()) == target_id for entry in os.scandir(protected)
                               if entry.is_file(follow_symlinks=False))
            except OSError:
                pass
        if inside or same:
            what = (f"in the project's backup folder ({protected})" if protected == backup_folder(Path(db))
                    else f"the project database ({protected})")
            raise OutputRefused(f"this is {what}; an export never writes over the project, "
                                "--force or not; nothing was written", path=str(target),
                                hint="choose another --out file")


def _file_id(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


class OutputRefused(InputError):
    """An output file coder will not write (the project itself, a folder, a device, a link)."""

    exit_code = ExitStatus.BAD_INPUT


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(info: os.stat_result) -> str | None:
    for test, name in _KINDS:
        if test(info.st_mode):
            return name
    return None


def write_output(path: Path, content, *, force: bool, db: Path | None = None) -> Path:
    """Write an output file whole or not at all. The content goes to a new file with a unique
    name in the target's folder (created exclusively, so a planted link is never followed),
    which is renamed over the target once complete and removed if anything fails. An existing
    file is replaced only with `force`, and only a regular file (never a folder, a link, a
    FIFO or a device), and never the project (`db`) itself. `content` is text, bytes, or a
    function writing text to a stream (or bytes, when it is marked `binary`)."""
    path = Path(path)
    refuse_project_file(path, db)
    _refuse_folder_names(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputRefused(f"cannot write the file ({exc.strerror or exc})", path=str(path)) from None
    if info is not None:
        kind = _not_regular(info)
        if kind:
            raise OutputRefused(f"is {kind}, not a regular file; coder replaces only regular files, --force or "
                                "not; nothing was written", path=str(path), hint="choose another --out file")
        if not force:
            raise OutputRefused("file exists", path=str(path), hint="pass --force to overwrite, or choose --out")
    tmp = None
    made = [folder for folder in (path.parent, *path.parent.parents) if not os.path.lexists(folder)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_exclusive(path)
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as stream:
                stream.write(content)
        elif getattr(content, "binary", False):  # a function writing bytes (export.BinaryContent)
            with os.fdopen(fd, "wb") as stream:
                content(stream)
        elif isinstance(content, str):
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(content)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
                content(stream)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
        tmp = None
    except OSError as exc:
        raise OutputRefused(_write_failure(exc), path=str(path),
                            hint="check the folder's permissions and free space, or choose another --out") from None
    finally:
        if tmp is not None:
            remove_quietly(Path(tmp))
            for folder in made:  # the folders made for it go too (innermost first), if still empty
                try:
                    folder.rmdir()
                except OSError:
                    break
    return path


def _refuse_folder_names(path: Path) -> None:
    """A name that can only be a folder (`.`, `..`, `dir/..`), or a `..` after a folder that
    does not exist (`q.csv/../x`: the shell would not go there either, and making `q.csv` for
    it would leave a folder behind), is refused before anything is made."""
    parts = path.parts
    for index, part in enumerate(parts):
        if part == ".." and index and not os.path.isdir(Path(*parts[:index])):
            raise OutputRefused(f"'{Path(*parts[:index])}' is not a folder, so '..' after it leads nowhere; nothing "
                                "was written", path=str(path), hint="name the file without '..'")
    if path.name in ("", ".", ".."):
        raise OutputRefused("names a folder, not a file; nothing was written", path=str(path),
                            hint="give a file name, e.g. --out sheet.md")


def create_exclusive(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """A new file beside `path`, `.name.XXXXXXXX.tmp`: O_EXCL fails on anything already there,
    a link included, so nothing planted under that name is written through."""
    import secrets

    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}"))
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(path.parent))


def _write_failure(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full; nothing was written"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "cannot write here (the folder is read-only or not yours); nothing was written"
    if exc.errno == errno.EISDIR:
        return "is a folder; nothing was written"
    return f"could not write the file ({exc.strerror or exc}); nothing was written"


def fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    if sys.platform.startswith("win"):
        return
    fsync(folder)


def remove_quietly(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink()
    except OSError:
        pass
