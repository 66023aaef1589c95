# Sourced by the tandem launchers (the repository's ./tandem and the distribution's bin/tandem).
# tandem_find_java prints the home of the first Java 25+ runtime among JAVA_HOME, 'java' on the
# PATH and /usr/lib/jvm/*25*, or fails with a message on stderr saying what to install.
tandem_find_java() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for dir in /usr/lib/jvm/*25*; do [ -d "$dir" ] && candidates+=("$dir"); done
  local home
  for home in ${candidates[@]+"${candidates[@]}"}; do
    [ -x "$home/bin/java" ] || continue
    local version=""
    # The runtime's release file says its version without starting a JVM (a few hundred ms).
    [ -f "$home/release" ] && version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
    if [ -z "$version" ]; then
      version=$("$home/bin/java" -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java.specification.version = //p')
    fi
    if [ "${version%%.*}" -ge 25 ] 2>/dev/null; then
      echo "$home"
      return 0
    fi
  done
  echo "tandem: needs a Java 25 runtime (JDK 25, e.g. Eclipse Temurin 25) and found none." >&2
  echo "Install one and set JAVA_HOME to it (looked at JAVA_HOME, 'java' on PATH, /usr/lib/jvm/*25*)." >&2
  return 1
}
