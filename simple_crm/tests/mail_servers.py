"""Real mail servers on loopback for the e-mail tests: Dovecot (IMAP) and aiosmtpd (SMTP).

`Dovecot` runs Debian's dovecot as the user running the tests, with a configuration of its own in a
temporary directory: IMAP on a free loopback port, plain-text login, users and passwords from a file, the
mailboxes as Maildirs in that directory. Mail reaches a mailbox by IMAP APPEND, as a mail server's delivery
would put it there. `SmtpServer` is aiosmtpd's SMTP server on a free loopback port that keeps every message
it is given.

Neither is optional: when dovecot or aiosmtpd is missing, or will not start, the tests fail with a message
saying what to install (`scripts/test.sh` installs them).
"""

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time

DOVECOT_PACKAGE = "dovecot-imapd"
DOVECOT_PATHS = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


class MailServerError(AssertionError):
	"""A mail server the tests need is missing or did not start (a failure, never a skip)."""


def free_port() -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
		sock.bind(("127.0.0.1", 0))
		return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, seconds: float = 20) -> None:
	deadline = time.monotonic() + seconds
	while time.monotonic() < deadline:
		if process is not None and process.poll() is not None:
			raise MailServerError(f"the server exited with code {process.returncode}")
		with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
			return
		time.sleep(0.1)
	raise MailServerError(f"nothing answers on 127.0.0.1:{port} after {seconds} s")


def dovecot_binary() -> str:
	found = shutil.which("dovecot") or next((p for p in DOVECOT_PATHS if os.access(p, os.X_OK)), None)
	if not found:
		raise MailServerError(
			f"dovecot is not installed, and the e-mail tests need a real IMAP server: "
			f"apt-get install -y {DOVECOT_PACKAGE} (scripts/test.sh installs it when run as root)"
		)
	return found


CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = crm-test-{port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
"""


class Dovecot:
	"""A private Dovecot IMAP server: `Dovecot({"crm@example.test": "password"})`, then `start()`/`stop()`."""

	def __init__(self, users: dict[str, str]):
		self.users = users
		self.port = free_port()
		self.root = tempfile.mkdtemp(prefix="crm-dovecot-")
		self.process = None

	def start(self) -> "Dovecot":
		binary = dovecot_binary()
		user = pwd.getpwuid(os.getuid()).pw_name
		group = grp.getgrgid(os.getgid()).gr_name
		for folder in ("run", "state", "mail"):
			os.makedirs(os.path.join(self.root, folder), exist_ok=True)
		with open(os.path.join(self.root, "passwd"), "w") as f:
			f.writelines(f"{login}:{{PLAIN}}{password}\n" for login, password in self.users.items())
		config = os.path.join(self.root, "dovecot.conf")
		with open(config, "w") as f:
			f.write(CONFIG.format(root=self.root, port=self.port, user=user, group=group))
		self.process = subprocess.Popen(
			[binary, "-F", "-c", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
		)
		try:
			wait_for_port(self.port, self.process)
		except MailServerError as e:
			output = self.output()
			self.stop()
			raise MailServerError(f"dovecot did not start ({e}):\n{output}") from None
		return self

	def output(self) -> str:
		text = ""
		log = os.path.join(self.root, "dovecot.log")
		if os.path.exists(log):
			with open(log, errors="replace") as f:
				text = f.read()[-3000:]
		if self.process and self.process.poll() is not None and self.process.stdout:
			text += self.process.stdout.read().decode(errors="replace")[-3000:]
		return text

	def stop(self) -> None:
		if self.process and self.process.poll() is None:
			self.process.terminate()
			try:
				self.process.wait(timeout=10)
			except subprocess.TimeoutExpired:
				self.process.kill()
				self.process.wait()
		if self.process and self.process.stdout:
			self.process.stdout.close()
		shutil.rmtree(self.root, ignore_errors=True)

	@contextlib.contextmanager
	def imap(self, login: str):
		connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
		try:
			connection.login(login, self.users[login])
			yield connection
		finally:
			with contextlib.suppress(Exception):
				connection.logout()

	def deliver(self, login: str, message: bytes, folder: str = "INBOX") -> None:
		"""Put a message into a mailbox, unread (IMAP APPEND)."""
		with self.imap(login) as connection:
			status, answer = connection.append(folder, None, None, message)
			if status != "OK":
				raise MailServerError(f"IMAP APPEND refused: {answer}")

	def mark_unread(self, login: str, folder: str = "INBOX") -> None:
		"""Every message of the folder unread again (a client or the server may do so)."""
		with self.imap(login) as connection:
			connection.select(folder)
			_status, data = connection.uid("search", None, "ALL")
			for uid in (data[0] or b"").split():
				connection.uid("store", uid, "-FLAGS", "(\\Seen)")

	def empty(self, login: str, folder: str = "INBOX") -> None:
		with self.imap(login) as connection:
			connection.select(folder)
			_status, data = connection.uid("search", None, "ALL")
			for uid in (data[0] or b"").split():
				connection.uid("store", uid, "+FLAGS", "(\\Deleted)")
			connection.expunge()

	def count(self, login: str, criterion: str = "ALL", folder: str = "INBOX") -> int:
		with self.imap(login) as connection:
			connection.select(folder, readonly=True)
			_status, data = connection.uid("search", None, criterion)
			return len((data[0] or b"").split())


class SmtpServer:
	"""aiosmtpd's SMTP server on loopback; `messages` holds what it was given (envelope and raw message).
	With `users` ({login: password}) it takes mail only after SMTP AUTH (PLAIN or LOGIN) with one of them,
	as a company's mail server does."""

	def __init__(self, users: dict[str, str] | None = None):
		try:
			from aiosmtpd.controller import Controller
			from aiosmtpd.smtp import AuthResult, LoginPassword
		except ImportError:
			raise MailServerError(
				"aiosmtpd is not installed in the bench's Python, and the e-mail tests need a real SMTP server: "
				"bench setup requirements --dev (scripts/test.sh does it)"
			) from None
		self.messages: list[dict] = []
		self.received = threading.Condition()
		server = self

		class Handler:
			async def handle_DATA(self, smtp, session, envelope):
				with server.received:
					server.messages.append(
						{
							"mail_from": envelope.mail_from,
							"rcpt_tos": list(envelope.rcpt_tos),
							"data": envelope.original_content or envelope.content,
						}
					)
					server.received.notify_all()
				return "250 Message accepted for delivery"

		self.logins: list[str] = []

		def authenticator(smtp, session, envelope, mechanism, auth_data):
			if not isinstance(auth_data, LoginPassword):
				return AuthResult(success=False, handled=False)
			login, password = auth_data.login.decode(), auth_data.password.decode()
			if users is not None and users.get(login) == password:
				self.logins.append(login)
				return AuthResult(success=True)
			return AuthResult(success=False, handled=False)

		self.port = free_port()
		options = {"authenticator": authenticator, "auth_require_tls": False} if users is not None else {}
		self.controller = Controller(
			Handler(), hostname="127.0.0.1", port=self.port, auth_required=users is not None, **options
		)

	def start(self) -> "SmtpServer":
		try:
			self.controller.start()
		except Exception as e:
			raise MailServerError(f"aiosmtpd did not start on 127.0.0.1:{self.port}: {e}") from None
		return self

	def stop(self) -> None:
		with contextlib.suppress(Exception):
			self.controller.stop()

	def wait_for(self, count: int, seconds: float = 10) -> list[dict]:
		with self.received:
			self.received.wait_for(lambda: len(self.messages) >= count, timeout=seconds)
			return list(self.messages)
