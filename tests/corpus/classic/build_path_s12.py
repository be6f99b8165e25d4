"""
Path traversal and file inclusion, session 12, tune only: the forms a file
API resolves to one place however they are written.

Writes C{path_traversal_s12.attacks.jsonl} and
C{path_traversal_s12.benign.jsonl} beside this script, every line C{tune}
(written knowing the rules), without any mirror.  Attacks: sensitive
locations on Linux, macOS, Windows, in containers and cloud agents, web
servers' and frameworks' files, logs, C{/proc} and C{/sys}, shell
histories and keys (the target paths of nuclei-templates' LFI templates,
MIT, and the project's own list: C{akto_proxy/inspect/paths.py}), written
the ways a file API reads the same file: wrapped (C{file://},
C{php://filter/.../resource=}, C{compress.zlib://}, C{phar://},
C{jar:file:}), through a drive, an administrative share or a device
namespace (C{\\\\localhost\\c$\\}, C{\\\\?\\C:\\}), through environment
variables (C{%SYSTEMROOT%}, C{$HOME}, C{~}), climbing from a web root or a
home, cut by a NUL, a query, a fragment or a path parameter, with
Windows' trailing dots, spaces and stream names; in file arguments, in URL
query parameters of any name, as a word of a value.  NUL truncations
beside a path, a file name or an extension.  Benign: workspace paths and
relative imports that stay inside, projects in homes, files named like
system ones inside a project, URLs whose path or search mentions
C{/etc/hosts}, documentation values, NULs that cut nothing.

A text equal (also after strip) to a line of any other part (the fresh
part by C{fresh/MANIFEST.tsv}) is dropped without being printed; the
count dropped is printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "issue16:path_traversal:s12"

# target paths (the first part of each list from nuclei-templates' generic
# and fuzzing LFI templates' targets; the rest this project's own)
LINUX = [
    "/etc/passwd", "/etc/shadow", "/etc/hosts", "/etc/group", "/etc/issue", "/etc/sudoers", "/etc/crontab",
    "/etc/ssh/sshd_config", "/etc/ssh/ssh_host_rsa_key", "/etc/ssl/private/server.key", "/etc/mysql/my.cnf",
    "/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/default", "/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf",
    "/etc/php/8.1/fpm/php.ini", "/etc/redis/redis.conf", "/etc/postgresql/14/main/pg_hba.conf", "/etc/kubernetes/admin.conf",
    "/etc/docker/daemon.json", "/etc/rancher/k3s/k3s.yaml", "/etc/krb5.keytab", "/etc/environment", "/etc/resolv.conf",
    "/etc/fstab", "/etc/os-release", "/etc/netplan/01-netcfg.yaml", "/etc/NetworkManager/system-connections/Home.nmconnection",
    "/etc/wireguard/wg0.conf", "/etc/openvpn/server.conf", "/etc/letsencrypt/live/example.com/privkey.pem", "/etc/vault.d/vault.hcl",
    "/etc/gitlab/gitlab.rb", "/etc/grafana/grafana.ini", "/etc/ld.so.preload", "/etc/pam.d/common-auth", "/etc/sysconfig/network",
    "/proc/self/environ", "/proc/self/cmdline", "/proc/self/maps", "/proc/self/fd/3", "/proc/self/cwd/config.py",
    "/proc/1/environ", "/proc/self/mountinfo", "/proc/self/cgroup", "/proc/net/tcp", "/proc/version", "/proc/kallsyms",
    "/proc/sched_debug", "/sys/class/net/eth0/address", "/sys/kernel/debug/tracing/trace", "/sys/firmware/efi/efivars",
    "/dev/shm/payload", "/dev/tcp/10.0.0.1/4444", "/root/.bash_history", "/root/.ssh/authorized_keys",
    "/var/log/auth.log", "/var/log/nginx/access.log", "/var/log/apache2/error.log", "/var/log/syslog", "/var/log/secure",
    "/var/log/cloud-init-output.log", "/var/mail/root", "/var/spool/cron/crontabs/root", "/var/backups/shadow.bak",
    "/var/lib/mysql/mysql/user.MYD", "/var/lib/docker/containers/abc/config.v2.json", "/var/lib/kubelet/pki/kubelet.key",
    "/var/lib/cloud/instance/user-data.txt", "/var/lib/waagent/ovf-env.xml", "/var/lib/jenkins/secrets/master.key",
    "/var/lib/php/sessions/sess_8f1c2", "/var/run/secrets/kubernetes.io/serviceaccount/token", "/run/secrets/db_password",
    "/var/run/docker.sock", "/tmp/sess_0a1b2c3d4e", "/.dockerenv", "/opt/lampp/etc/httpd.conf",
    "/usr/local/etc/php/php.ini", "/usr/local/apache2/conf/httpd.conf", "/usr/local/nginx/conf/nginx.conf",
    "/home/ubuntu/.aws/credentials", "/home/deploy/.ssh/id_ed25519", "/home/alice/.git-credentials", "/home/bob/.kube/config",
    "/home/ci/.docker/config.json", "/home/dev/.config/gcloud/application_default_credentials.json", "/home/dev/.npmrc",
    "/home/app/.pgpass", "/home/app/.netrc", "/home/app/.zsh_history", "/home/app/.psql_history", "/home/app/.vault-token",
    "/home/app/.terraform.d/credentials.tfrc.json", "/home/app/.config/gh/hosts.yml", "/home/app/.m2/settings.xml",
]
MAC = [
    "/private/etc/master.passwd", "/private/var/db/dslocal/nodes/Default/users/admin.plist", "/Library/Keychains/System.keychain",
    "/Users/alice/Library/Keychains/login.keychain-db", "/Users/alice/Library/Cookies/Cookies.binarycookies",
    "/Users/alice/.ssh/id_rsa", "/Users/alice/.zsh_history", "/System/Library/CoreServices/SystemVersion.plist",
    "/Library/Preferences/SystemConfiguration/preferences.plist", "/Applications/XAMPP/xamppfiles/etc/httpd.conf",
]
WINDOWS = [
    "C:\\Windows\\win.ini", "C:\\Windows\\System32\\config\\SAM", "C:\\Windows\\System32\\config\\SYSTEM",
    "C:\\Windows\\System32\\drivers\\etc\\hosts", "C:\\Windows\\repair\\sam", "C:\\Windows\\Panther\\Unattend.xml",
    "C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config", "C:\\Windows\\debug\\NetSetup.log",
    "C:\\Windows\\System32\\LogFiles\\W3SVC1\\u_ex240101.log", "C:\\boot.ini", "C:\\inetpub\\wwwroot\\web.config",
    "C:\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex240101.log", "C:\\xampp\\apache\\conf\\httpd.conf", "C:\\xampp\\php\\php.ini",
    "C:\\xampp\\mysql\\bin\\my.ini", "C:\\Users\\Administrator\\NTUSER.DAT", "C:\\Users\\alice\\.aws\\credentials",
    "C:\\Users\\alice\\AppData\\Roaming\\FileZilla\\sitemanager.xml", "C:\\Users\\alice\\AppData\\Roaming\\Microsoft\\Credentials\\DFBE70A7",
    "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\a1b2", "C:\\sysprep.inf", "C:\\unattend.xml", "C:\\pagefile.sys",
    "C:\\Windows\\NTDS\\ntds.dit", "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\Config\\web.config",
]
# files of an application's root, reached by a climb or under a web root
APP = [
    "WEB-INF/web.xml", "WEB-INF/classes/application.properties", "META-INF/context.xml", "web.config", "wp-config.php",
    "configuration.php", "app/etc/env.php", "sites/default/settings.php", "config/database.yml", "config/master.key",
    ".env", ".env.production", "appsettings.json", "application.yml", "conf/tomcat-users.xml", "conf/server.xml",
    ".git/config", ".htpasswd", "LocalSettings.php", "config.inc.php", "storage/logs/laravel.log",
]
WEB_ROOTS = ["/var/www/html", "/var/www/site/public", "/srv/www/htdocs", "/usr/share/nginx/html", "/opt/tomcat/webapps/ROOT",
             "C:\\inetpub\\wwwroot", "/var/lib/tomcat9/webapps/ROOT"]

# argument shapes: (tool, argument)
FILE_ARGS = [
    ("read_file", "path"), ("open_file", "path"), ("view_file", "file"), ("download", "filename"), ("get_document", "name"),
    ("load_template", "template"), ("include_page", "page"), ("get_image", "src"), ("preview", "doc"), ("show_log", "log"),
    ("load_config", "config"), ("export_report", "output"), ("attach", "attachment"), ("import_data", "source_path"),
]
URL_ARGS = [("fetch_url", "url"), ("http_get", "url"), ("open_link", "href"), ("load_resource", "uri"), ("crawl", "target")]
# query parameters of any name (not only those that name a file)
PARAMS = ["file", "page", "cat", "mod", "board", "id", "x", "data", "item", "v", "lang", "action", "pg", "q1"]
HOSTS = ["shop.example", "intranet.example.com", "127.0.0.1:8080", "10.0.0.5", "app.test"]


def _win(path: str) -> str:
    return path.replace("/", "\\")


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def _rel(path: str) -> str:
    """The path without its root or drive."""
    p = _posix(path)
    if len(p) > 1 and p[1] == ":":
        p = p[2:]
    return p.lstrip("/")


def _drive(path: str) -> bool:
    return len(path) > 1 and path[1] == ":"


def forms(rng: random.Random, path: str) -> list[tuple[str, str]]:
    """
    (family, text) of C{path} written the ways a file API reads it as the
    same file.
    """
    rel = _rel(path)
    win = _drive(path)
    out = []
    out.append(("wrapper:file", "file://" + ("/" + _posix(path) if win else _posix(path))))
    out.append(("wrapper:file-localhost", "file://localhost/" + rel))
    out.append(("wrapper:php-filter", rng.choice(["php://filter/convert.base64-encode/resource=", "php://filter/read=string.rot13/resource=",
                                                  "php://filter/zlib.deflate/convert.base64-encode/resource="]) + _posix(path)))
    out.append(("wrapper:compress", rng.choice(["compress.zlib://", "compress.bzip2://"]) + _posix(path)))
    out.append(("wrapper:jar", "jar:file:" + _posix(path) + "!/"))
    if win:
        drive = path[0].lower()
        out.append(("unc:admin-share", "\\\\" + rng.choice(["localhost", "127.0.0.1", "."]) + "\\" + drive + "$\\" + _win(rel)))
        out.append(("device:long", "\\\\?\\" + path[0] + ":\\" + _win(rel)))
        out.append(("device:dot", "\\\\.\\" + path[0] + ":\\" + _win(rel)))
        if rel.lower().startswith("windows/"):
            out.append(("env:systemroot", rng.choice(["%SYSTEMROOT%", "%windir%", "%SystemRoot%"]) + "\\" + _win(rel[len("windows/"):])))
        if rel.lower().startswith("users/"):
            tail = rel.split("/", 2)[2] if rel.count("/") >= 2 else ""
            if tail:
                out.append(("env:userprofile", "%USERPROFILE%\\" + _win(tail)))
        out.append(("suffix:stream", path + "::$DATA"))
        out.append(("suffix:dots", path + rng.choice([".", "..", " .", ". ."])))
        out.append(("drive:mixed", path[0] + ":/" + rel.replace("/", rng.choice(["/", "\\", "//", "\\/"]))))
    else:
        parts = rel.split("/")
        if parts[0] in ("home", "Users") and len(parts) > 2:
            out.append(("env:home", rng.choice(["~/", "$HOME/", "${HOME}/"]) + "/".join(parts[2:])))
            out.append(("climb:from-home", "/".join(["~"] + ["..", "..", ".."] + parts[:1] + parts[1:])))
        root = rng.choice(WEB_ROOTS[:4])
        out.append(("climb:from-webroot", root + "/" + "../" * rng.randint(root.count("/"), 8) + rel))
        out.append(("dots:slashes", "/" + "/".join(p + rng.choice(["", "/", "/./"]) for p in parts).replace("//", "/./")))
        out.append(("suffix:nul", path + rng.choice(["\x00", "%00", "%00.png", "\x00.jpg", "%00.html"])))
        out.append(("suffix:query", path + rng.choice(["?", "?x=1", "#", "#.png", ";jsessionid=A1B2", "%3F.jpg"])))
        out.append(("separators:backslash", _win(path)))
        out.append(("separators:doubled", path.replace("/", rng.choice(["//", "///", "/./", "/.//"]))))
    return out


def shapes(rng: random.Random, family: str, text: str) -> list[tuple[str, str, str, str]]:
    """
    (family, tool, argument, text): C{text} in a file argument, in a URL's
    query parameter of any name, as a word of a value.
    """
    tool, arg = rng.choice(FILE_ARGS)
    out = [(family, tool, arg, text)]
    if rng.random() < 0.5 and "\x00" not in text:
        utool, uarg = rng.choice(URL_ARGS)
        param = rng.choice(PARAMS)
        out.append((family + "+query", utool, uarg, "https://%s/%s?%s=%s" % (
            rng.choice(HOSTS), rng.choice(["index.php", "view", "download.jsp", "api/v1/file", "cgi-bin/read.cgi"]), param,
            text.replace(" ", "%20").replace("#", "%23"))))
    if rng.random() < 0.25:
        tool, arg = rng.choice(FILE_ARGS)
        out.append((family + "+word", tool, arg, rng.choice(["type ", "include ", "<!--#include file=\"", "copy ", "load "]) + text))
    return out


def attacks(rng: random.Random) -> list[tuple[str, str, str, str]]:
    rows = []
    for path in LINUX + MAC + WINDOWS:
        for family, text in forms(rng, path):
            rows.extend(shapes(rng, family, text))
    for target in APP:
        depth = rng.randint(1, 6)
        sep = rng.choice(["/", "\\"])
        climb = ("..%s" % sep) * depth
        rows.extend(shapes(rng, "app:climb", climb + target.replace("/", sep)))
        rows.extend(shapes(rng, "app:webroot", rng.choice(WEB_ROOTS) + "/" + target))
        rows.extend(shapes(rng, "app:climb-cut", climb + target + rng.choice(["%00", "?", ";x=", "#", "\x00.txt"])))
        rows.extend(shapes(rng, "app:php-filter", "php://filter/convert.base64-encode/resource=" + "../" * depth + target))
    # NUL truncation beside a path, a file name or an extension
    for name in ["shell.php", "upload.phtml", "cmd.jsp", "x.asp", "image", "../../../../etc/passwd", "..\\..\\boot.ini",
                 "/var/www/html/index.php", "../../../config.inc.php", "avatar"]:
        ext = rng.choice([".jpg", ".png", ".gif", ".pdf", ".txt", ".html"])
        for nul in ("\x00", "%00"):
            text = name + nul + (ext if not name.endswith(("passwd", "boot.ini")) or rng.random() < 0.5 else "")
            tool, arg = rng.choice(FILE_ARGS)
            rows.append(("nul:truncation", tool, arg, text))
    for param in ("file", "page", "path", "template", "include"):
        utool, uarg = rng.choice(URL_ARGS)
        rows.append(("nul:parameter", utool, uarg, "https://%s/index.php?%s=%%00" % (rng.choice(HOSTS), param)))
    return rows


BENIGN = [
    # workspace paths and relative imports that stay inside
    ("workspace", "read_file", "path", "/workspace/app/logs/error.log"),
    ("workspace", "read_file", "path", "/workspace/site/config/database.example.yml"),
    ("workspace", "open_file", "path", "/home/alice/projects/shop/.env.example"),
    ("workspace", "open_file", "path", "/home/alice/projects/shop/etc/nginx/site.conf.template"),
    ("workspace", "view_file", "file", "src/../docs/passwd-reset.md"),
    ("workspace", "view_file", "file", "./packages/web/../api/src/etc/hosts.ts"),
    ("workspace", "get_document", "name", "docs/windows/win.ini.md"),
    ("workspace", "load_template", "template", "templates/partials/../layouts/base.html"),
    ("workspace", "read_file", "path", "C:\\Users\\bob\\source\\repos\\Shop\\Shop.Web\\web.config"),
    ("workspace", "read_file", "path", "C:\\Users\\bob\\source\\repos\\Shop\\appsettings.Development.json"),
    ("workspace", "read_file", "path", "/Users/carol/code/api/config/database.yml"),
    ("workspace", "read_file", "path", "/Users/carol/code/api/WEB-INF/web.xml"),
    ("workspace", "import_data", "source_path", "../data/customers.csv"),
    ("workspace", "import_data", "source_path", "./fixtures/etc/passwd.sample"),
    ("workspace", "export_report", "output", "/tmp/report-2024-06.pdf"),
    ("workspace", "export_report", "output", "/dev/null"),
    ("workspace", "show_log", "log", "logs/app/error.log"),
    ("workspace", "show_log", "log", "/workspace/app/storage/logs/worker.log"),
    ("workspace", "load_config", "config", "config/app.php"),
    ("workspace", "load_config", "config", "./settings/local.example.py"),
    ("workspace", "get_image", "src", "../../assets/img/logo.svg"),
    ("workspace", "include_page", "page", "pages/about-us"),
    ("workspace", "read_file", "path", "/usr/share/doc/git/README.md"),
    ("workspace", "read_file", "path", "/opt/app/current/package.json"),
    ("workspace", "read_file", "path", "/var/www/html/index.html"),
    ("workspace", "read_file", "path", "/var/www/html/assets/css/site.css"),
    ("workspace", "read_file", "path", "~/projects/blog/content/posts/etc-hosts.md"),
    ("workspace", "read_file", "path", "node_modules/.bin/../tsc/bin/tsc"),
    ("workspace", "read_file", "path", "\\\\fileserver\\shared\\reports\\q3.xlsx"),
    ("workspace", "attach", "attachment", "//nas/team/designs/logo-final.psd"),
    # URLs whose path or search mentions system files
    ("url", "fetch_url", "url", "https://github.com/acme/infra/blob/main/etc/hosts"),
    ("url", "fetch_url", "url", "https://man7.org/linux/man-pages/man5/passwd.5.html"),
    ("url", "http_get", "url", "https://docs.example.com/guides/etc/nginx/nginx.conf"),
    ("url", "http_get", "url", "https://search.example/?q=/etc/shadow%20permissions%20explained"),
    ("url", "open_link", "href", "https://learn.microsoft.com/en-us/windows/win32/sysinfo/registry-hives?view=win.ini"),
    ("url", "open_link", "href", "https://wiki.example.org/wiki/Proc/self/environ"),
    ("url", "load_resource", "uri", "https://cdn.example.com/assets/.env-badge.svg"),
    ("url", "crawl", "target", "https://blog.example.com/2024/05/rotating-aws-credentials"),
    # prose in values that name system files
    ("prose", "search_products", "query", "hosts file editor for /etc/hosts on mac"),
    ("prose", "create_ticket", "summary_line", "Cannot read /etc/ssl/certs after the upgrade, please help"),
    ("prose", "lookup", "term", "what is stored in /etc/shadow and who can read it"),
    ("prose", "lookup", "term", "difference between ~/.bashrc and ~/.profile"),
    # NULs that cut nothing
    ("nul", "send_ws", "frame", "\x00"),
    ("nul", "send_ws", "frame", "\x00\x00\x00\x00"),
    ("nul", "set_value", "value", "abc\x00def"),
    ("nul", "set_value", "value", "%00"),
    ("nul", "set_value", "value", "key=value%00other=1"),
    ("nul", "encode", "data", "AAECAwQF\x00\x00"),
]


def _digests(text: str) -> set[str]:
    return {hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in (text, text.strip())}


def known() -> set[str]:
    """
    SHA-256 of every text already in the corpus (also after strip), the
    fresh part's by its manifest (its texts as written; a line of ours is
    compared as written and after strip).
    """
    out: set[str] = set()
    for name in os.listdir(HERE):
        if name.endswith(".jsonl") and not name.startswith("path_traversal_s12"):
            with open(os.path.join(HERE, name), encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        out |= _digests(json.loads(line)["text"])
    for name in ("attacks.jsonl", "benign.jsonl"):
        with open(os.path.join(HERE, "..", name), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    out |= _digests(json.loads(line)["text"])
    manifest = os.path.join(HERE, "fresh", "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            out.update(line.rstrip("\n").split("\t")[-1] for line in f)
    return out


def main() -> None:
    rng = random.Random(SEED)
    seen = known()
    dropped = 0
    out = {"attack": [], "benign": []}
    for label, rows in (("attack", attacks(rng)), ("benign", BENIGN)):
        for family, tool, arg, text in rows:
            d = _digests(text)
            if d & seen:
                dropped += 1
                continue
            seen |= d
            out[label].append(dict(category="path_traversal", label=label, tool=tool, argument=arg, text=text,
                                   direction="request", source="generated:s12" if label == "attack" else "written:s12",
                                   family=family, split="tune"))
    for label, name in (("attack", "attacks"), ("benign", "benign")):
        with open(os.path.join(HERE, "path_traversal_s12.%s.jsonl" % name), "w", encoding="utf-8") as f:
            for row in out[label]:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print("attacks %d, benign %d, dropped %d equal to a line of another part" % (len(out["attack"]), len(out["benign"]), dropped))


if __name__ == "__main__":
    main()
