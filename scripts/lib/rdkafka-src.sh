# Sourced by scripts/build-rdkafka-perf and scripts/rdkafka-suite (not executable on its own).
# Gets the librdkafka source that ships inside the rdkafka-sys crate on crates.io: cargo
# downloads the crate through a throw-away manifest (cargo fetch: nothing is built), and the
# crate's librdkafka/ directory is copied out.
#
#   rdkafka_src_copy VERSION DEST WORKDIR
#     VERSION  the rdkafka-sys version, e.g. 4.10.0+2.12.1 (= librdkafka 2.12.1)
#     DEST     directory to create with the librdkafka source tree (must not exist)
#     WORKDIR  scratch directory for the throw-away manifest (the caller removes it)
# Progress goes to stderr.

rdkafka_src_copy() {
  local version="$1" dest="$2" work="$3" src
  mkdir -p "$work/fetch/src"
  cat > "$work/fetch/Cargo.toml" <<EOF
[package]
name = "rk-fetch-rdkafka-sys"
version = "0.0.0"
edition = "2021"
[dependencies]
rdkafka-sys = "=$version"
EOF
  echo 'fn main() {}' > "$work/fetch/src/main.rs"
  (cd "$work/fetch" && cargo fetch --quiet) >&2
  src=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "rdkafka-sys-$version" | head -1)
  if [ -z "$src" ]; then
    echo "rdkafka-sys $version not found after cargo fetch" >&2
    return 1
  fi
  cp -r "$src/librdkafka" "$dest"
}
