#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test certificates made at run time with the openssl command line tool.

Nothing here is committed: keys are generated into a directory the caller
owns (a temporary one).  ECDSA P-256 keys, so that generation is quick even
under emulation.

  python3 certs.py DIR [--server-name NAME] [--server-ip ADDR]

writes into DIR: ca.pem (CA certificate), server.pem/server.key (signed for
NAME and ADDR), client.pem/client.key (signed by the CA), untrusted.pem/
untrusted.key (self-signed), expired.pem/expired.key (CA-signed, validity
ended in 2021), wrongname.pem/wrongname.key (CA-signed for another name).
"""

import argparse
import ipaddress
import os
import shutil
import subprocess
import sys


class CertError(RuntimeError):
    pass


def have_openssl():
    return shutil.which("openssl") is not None


def _run(args, cwd):
    p = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise CertError("openssl %s failed: %s" % (" ".join(args), p.stdout.strip()))


def _key(d, name):
    _run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-out", name + ".key"], d)


def _san(names, ips):
    items = ["DNS:" + n for n in names] + ["IP:" + str(ipaddress.ip_address(i)) for i in ips]
    return ",".join(items)


_CA_CONF = """[ca]
default_ca = ca_default
[ca_default]
dir = {d}
database = {d}/ca-index.txt
new_certs_dir = {d}
serial = {d}/ca-serial
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
[policy_any]
commonName = supplied
[ext_server]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth, 1.3.6.1.5.5.7.3.34
[ext_client]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth, 1.3.6.1.5.5.7.3.33
"""


class CertDir:
    """A small PKI in directory d."""

    def __init__(self, d):
        if not have_openssl():
            raise CertError("the openssl command line tool is not installed")
        self.d = os.path.abspath(d)
        os.makedirs(self.d, exist_ok=True)
        self.ca = os.path.join(self.d, "ca.pem")
        if not os.path.exists(self.ca):
            self._make_ca()

    def path(self, name):
        return os.path.join(self.d, name)

    def _make_ca(self):
        with open(self.path("ca.cnf"), "w") as f:
            f.write(_CA_CONF.format(d=self.d))
        open(self.path("ca-index.txt"), "w").close()
        with open(self.path("ca-serial"), "w") as f:
            f.write("1000\n")
        _key(self.d, "ca")
        _run(["req", "-new", "-x509", "-key", "ca.key", "-out", "ca.pem", "-days", "30",
              "-subj", "/CN=rpctls test CA", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], self.d)

    def issue(self, name, cn, names=(), ips=(), client=False,
              startdate=None, enddate=None):
        """A CA-signed certificate: returns (cert path, key path)."""
        _key(self.d, name)
        args = ["req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn]
        if names or ips:
            args += ["-addext", "subjectAltName=" + _san(names, ips)]
        _run(args, self.d)
        args = ["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem",
                "-keyfile", "ca.key", "-in", name + ".csr", "-out", name + ".pem",
                "-extensions", "ext_client" if client else "ext_server"]
        if startdate:
            args += ["-startdate", startdate, "-enddate", enddate]
        else:
            args += ["-days", "30"]
        _run(args, self.d)
        return self.path(name + ".pem"), self.path(name + ".key")

    def self_signed(self, name, cn):
        _key(self.d, name)
        _run(["req", "-new", "-x509", "-key", name + ".key", "-out", name + ".pem",
              "-days", "30", "-subj", "/CN=" + cn], self.d)
        return self.path(name + ".pem"), self.path(name + ".key")

    def make_all(self, server_names=("localhost",), server_ips=("127.0.0.1",)):
        self.issue("server", server_names[0] if server_names else "server",
                   server_names, server_ips)
        self.issue("client", "rpctls test client", ("client.test",), client=True)
        self.self_signed("untrusted", "untrusted client")
        self.issue("expired", server_names[0] if server_names else "server",
                   server_names, server_ips,
                   startdate="20200101000000Z", enddate="20210101000000Z")
        self.issue("wrongname", "wrong.invalid", ("wrong.invalid",), ())


def main():
    ap = argparse.ArgumentParser(description="Make test certificates with openssl.")
    ap.add_argument("dir")
    ap.add_argument("--server-name", action="append", default=[],
                    help="DNS name for the server certificate (repeatable)")
    ap.add_argument("--server-ip", action="append", default=[],
                    help="IP address for the server certificate (repeatable)")
    a = ap.parse_args()
    try:
        CertDir(a.dir).make_all(a.server_name or ["localhost"], a.server_ip or ["127.0.0.1"])
    except (CertError, ValueError) as e:
        print("certs.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
