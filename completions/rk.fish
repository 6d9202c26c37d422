# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rk_global_optspecs
    string join \n h/help V/version
end

function __fish_rk_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rk_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rk_using_subcommand
    set -l cmd (__fish_rk_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rk -n "__fish_rk_needs_command" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_needs_command" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_needs_command" -f -a "server" -d 'Run a Kafka-compatible broker (kafka-server-start.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "completions" -d 'Print a shell completion script for bash, zsh or fish'
complete -c rk -n "__fish_rk_needs_command" -f -a "man" -d 'Write man pages for rk and every subcommand'
complete -c rk -n "__fish_rk_needs_command" -f -a "links" -d 'Create kafka-*.sh style links to this binary in a directory'
complete -c rk -n "__fish_rk_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -f -a "start" -d 'Start a broker (single node). With no arguments it serves 127.0.0.1:9092 on the default data dir'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l override -d 'Override a property: --override key=value (repeatable; wins over the file)' -r
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l data-dir -d 'Data directory (log.dirs)' -r -F
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l listen -d 'Listen address host:port (listeners)' -r
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l node-id -d 'Node id (node.id)' -r
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start a broker (single node). With no arguments it serves 127.0.0.1:9092 on the default data dir'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand completions" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand man" -l dir -d 'Directory to write the pages to' -r -F
complete -c rk -n "__fish_rk_using_subcommand man" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand man" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand links" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand links" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server completions man links help" -f -a "server" -d 'Run a Kafka-compatible broker (kafka-server-start.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server completions man links help" -f -a "completions" -d 'Print a shell completion script for bash, zsh or fish'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server completions man links help" -f -a "man" -d 'Write man pages for rk and every subcommand'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server completions man links help" -f -a "links" -d 'Create kafka-*.sh style links to this binary in a directory'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server completions man links help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "start" -d 'Start a broker (single node). With no arguments it serves 127.0.0.1:9092 on the default data dir'
