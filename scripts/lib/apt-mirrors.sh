# Source this file: the Debian mirrors this machine's own apt sources use.
#   debian_mirror [SUITE]            archive URI that serves SUITE (default bookworm)
#   debian_security_mirror [SUITE]   URI that serves SUITE-security
# Reads one-line (*.list) and deb822 (*.sources) files under $APT_ETC (default
# /etc/apt); only enabled `deb` entries count. Prints nothing when none matches, so
# callers keep their own default.

_apt_entries() {  # prints "URI SUITE" for every enabled deb entry
  local etc=${APT_ETC:-/etc/apt} f
  for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" {
           i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
           print $i, $(i + 1)
         }' "$f"
  done
  for f in "$etc"/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         {
           types = ""; uris = ""; suites = ""; enabled = "yes"
           for (n = 1; n <= NF; n++) {
             line = $n; sub(/#.*/, "", line)
             key = tolower(line); sub(/:.*/, "", key)
             value = line; sub(/^[^:]*:[ \t]*/, "", value)
             if (key == "types") types = value
             else if (key == "uris") uris = value
             else if (key == "suites") suites = value
             else if (key == "enabled") enabled = tolower(value)
           }
           if (enabled == "no" || (" " types " ") !~ / deb /) next
           nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
           for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++)
             if (u[a] != "" && s[b] != "") print u[a], s[b]
         }' "$f"
  done
}

debian_mirror() {
  local suite=${1:-bookworm}
  _apt_entries | awk -v s="$suite" '$2 == s || $2 == s "-updates" { print $1; exit }'
}

debian_security_mirror() {
  local suite=${1:-bookworm}
  _apt_entries | awk -v s="$suite-security" '$2 == s || $2 == s "/updates" { print $1; exit }'
}
