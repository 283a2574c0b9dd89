"""Real mail servers for the tests, on loopback, with throwaway configuration.

- Dovecot (Debian's dovecot-imapd, with its LMTP service) serving maildirs in a temporary
  directory to users listed in a passwd-file; no system configuration is read or changed.
  Run as root (as CI is), mail is owned by `nobody`; run as anyone else, everything runs as
  that user.
- An SMTP server (aiosmtpd, in a thread) that checks the login against the same users and
  delivers through Dovecot's LMTP, so a message sent through Kedun lands in its recipients'
  inboxes. Mail to addresses Dovecot does not know is kept in `outside` (the world beyond).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
SENT_FOLDER = "已发送"  # a Chinese client's name: found by its \Sent flag, not by its name
PASSWORD = "mail-pass-1"  # every test user's (Dovecot's passdb is static)


def dovecot_available() -> bool:
    return os.path.exists(DOVECOT) and os.path.exists(DOVEADM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, *, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_fsync = never
first_valid_uid = 1
mail_location = maildir:~/Maildir
{run_as}
# Every user has the one password: users come and go between tests without Dovecot
# re-reading a file.
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox {sent} {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = subscribe
  }}
}}
"""


@dataclass
class Dovecot:
    root: Path
    imap_port: int = field(default_factory=free_port)
    lmtp_port: int = field(default_factory=free_port)
    users: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            run_as = ""
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(self.uid).pw_name
            run_as = (
                f"default_internal_user = {me}\ndefault_login_user = {me}\n"
                f"default_internal_group = {pwd.getpwuid(self.uid).pw_name}"
            )
        self.config = self.root / "dovecot.conf"
        self._run_as = run_as

    # -- life -----------------------------------------------------------------------------

    def start(self) -> Dovecot:
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chown(self.root / "mail", self.uid, self.gid)
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                imap_port=self.imap_port,
                lmtp_port=self.lmtp_port,
                sent=SENT_FOLDER,
                run_as=self._run_as,
                password=PASSWORD,
                uid=self.uid,
                gid=self.gid,
            )
        )
        # The master daemonizes; its children must not hold a pipe of ours open.
        subprocess.run(
            [DOVECOT, "-c", str(self.config)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self.imap_port)
        _wait_for(self.lmtp_port)
        return self

    def stop(self) -> None:
        subprocess.run(
            [DOVEADM, "-c", str(self.config), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        pid_file = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 5
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- users and mail -------------------------------------------------------------------

    def user_add(self, address: str) -> None:
        self.users[address] = PASSWORD
        home = self.root / "mail" / address
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        for path in (home, home / "Maildir", *(home / "Maildir").iterdir()):
            os.chown(path, self.uid, self.gid)

    def append(self, address: str, raw: bytes, folder: str = "INBOX") -> None:
        from imap_tools import MailBoxUnencrypted

        with MailBoxUnencrypted("127.0.0.1", self.imap_port).login(
            address, self.users[address], initial_folder=None
        ) as box:
            box.append(raw, folder)

    def drop_files(self, address: str, raws: list[bytes], folder: str = "INBOX") -> None:
        """Many messages at once, written into the maildir as a delivery agent would (IMAP
        APPEND costs a round trip each); Dovecot indexes them when the folder is opened."""
        maildir = self.root / "mail" / address / "Maildir"
        if folder != "INBOX":
            maildir = maildir / f".{folder}"
        host = socket.gethostname()
        stamp = int(time.time())
        for number, raw in enumerate(raws):
            name = f"{stamp}.K{uuid.uuid4().hex[:12]}Q{number}.{host},S={len(raw)}"
            path = maildir / "new" / name
            path.write_bytes(raw)
            os.chown(path, self.uid, self.gid)

    def uidvalidity_set(self, address: str, value: int, folder: str = "INBOX") -> None:
        subprocess.run(
            [
                DOVEADM,
                "-c",
                str(self.config),
                "mailbox",
                "update",
                "-u",
                address,
                "--uid-validity",
                str(value),
                folder,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def folder_count(self, address: str, folder: str = "INBOX") -> int:
        from imap_tools import MailBoxUnencrypted

        with MailBoxUnencrypted("127.0.0.1", self.imap_port).login(
            address, self.users[address], initial_folder=None
        ) as box:
            return int(box.folder.status(folder)["MESSAGES"])


class _Relay:
    """aiosmtpd handler: checks the login, delivers through LMTP, keeps the rest."""

    def __init__(self, dovecot: Dovecot) -> None:
        self.dovecot = dovecot
        self.outside: list[tuple[str, bytes]] = []
        self.accepted: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        local = [r for r in envelope.rcpt_tos if r.lower() in self.dovecot.users]
        for rcpt in envelope.rcpt_tos:
            if rcpt.lower() not in self.dovecot.users:
                self.outside.append((rcpt, envelope.content))
        if local:
            lmtp = smtplib.LMTP("127.0.0.1", self.dovecot.lmtp_port)
            try:
                lmtp.sendmail(envelope.mail_from, local, envelope.content)
            finally:
                lmtp.quit()
        self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    def __init__(self, dovecot: Dovecot) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        def authenticator(server, session, envelope, mechanism, auth_data):
            login = auth_data.login.decode()
            ok = dovecot.users.get(login) == auth_data.password.decode()
            return AuthResult(success=ok, handled=False)

        self.port = free_port()
        self.relay = _Relay(dovecot)
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller = Controller(
            self.relay,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
            # Kedun always logs in; a wrong password is refused all the same. (Requiring AUTH
            # without TLS makes aiosmtpd warn on every connection.)
            auth_required=False,
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
