//! Generated artefacts: shell completions and man pages from the clap definitions (the
//! checked-in `completions/` and `man/` are produced by these and tested for staleness),
//! and `rk links` for the kafka-*.sh names.

use super::{ALIASES, Cli};
use anyhow::Context;
use clap::{Args, CommandFactory, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Directory to write the pages to.
    #[arg(long, default_value = "man")]
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct LinksArgs {
    /// Directory in which to create the links (both `kafka-x.sh` and `kafka-x`).
    pub dir: PathBuf,
}

/// The completion script for a shell, as text.
pub fn completion_script(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "rk", &mut out),
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "rk", &mut out),
        Shell::Fish => clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "rk", &mut out),
    }
    String::from_utf8(out).expect("completion scripts are UTF-8")
}

/// File names used under `completions/`.
pub fn completion_files() -> Vec<(&'static str, Shell)> {
    vec![("rk.bash", Shell::Bash), ("_rk", Shell::Zsh), ("rk.fish", Shell::Fish)]
}

/// Every man page: (file name, roff text), one per (sub)command.
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
        let name = if prefix.is_empty() { cmd.get_name().to_string() } else { format!("{prefix}-{}", cmd.get_name()) };
        let cmd = cmd.clone().name(name.clone());
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
        out.push((format!("{name}.1"), buf));
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, &name, out)?;
        }
        Ok(())
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, "", &mut out)?;
    Ok(out)
}

pub fn run_completions(a: CompletionsArgs) -> anyhow::Result<i32> {
    use std::io::Write;
    std::io::stdout().write_all(completion_script(a.shell).as_bytes())?;
    Ok(0)
}

pub fn run_man(a: ManArgs) -> anyhow::Result<i32> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("cannot create {}", a.dir.display()))?;
    for (name, text) in man_pages()? {
        std::fs::write(a.dir.join(&name), text).with_context(|| format!("cannot write {name}"))?;
    }
    Ok(0)
}

fn link(target: &Path, at: &Path) -> anyhow::Result<()> {
    if at.symlink_metadata().is_ok() {
        std::fs::remove_file(at).with_context(|| format!("cannot replace {}", at.display()))?;
    }
    std::os::unix::fs::symlink(target, at).with_context(|| format!("cannot create {}", at.display()))
}

pub fn run_links(a: LinksArgs) -> anyhow::Result<i32> {
    let exe = std::env::current_exe().context("cannot locate the rk binary")?;
    std::fs::create_dir_all(&a.dir).with_context(|| format!("cannot create {}", a.dir.display()))?;
    for (alias, _) in ALIASES {
        link(&exe, &a.dir.join(format!("{alias}.sh")))?;
        link(&exe, &a.dir.join(alias))?;
        println!("{}", a.dir.join(format!("{alias}.sh")).display());
    }
    Ok(0)
}
