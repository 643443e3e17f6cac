# SPDX-License-Identifier: GPL-2.0
# Quiet build output for the user-space Makefiles: "  CC      file" lines,
# or the full commands with V=1.  $(quiet) prints the short line, $(Q)
# prefixes a command.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-7s %s\n'
endif
