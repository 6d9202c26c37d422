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
complete -c rk -n "__fish_rk_needs_command" -f -a "topics" -d 'Create, list, describe, alter and delete topics (kafka-topics.sh)'
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
complete -c rk -n "__fish_rk_using_subcommand topics" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand topics" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l topic -d 'The topic to create, alter, describe or delete. A regular expression except with --create (Kafka\'s semantics: \'.\' matches any character)' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l topic-id -d 'The topic id to describe (Kafka\'s base64 form)' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l partitions -d 'The number of partitions for the topic being created or altered' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l replication-factor -d 'The replication factor for each partition of the topic being created' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l replica-assignment -d 'Manual partition-to-broker assignments: "b1:b2,b3:b4" (comma = partition, colon = replica)' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l config -d 'A topic configuration override for the topic being created: name=value (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l delete-config -d 'Deprecated in Kafka 4.0: ignored with a warning' -r
complete -c rk -n "__fish_rk_using_subcommand topics" -l output -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand topics" -l list -d 'List all available topics'
complete -c rk -n "__fish_rk_using_subcommand topics" -l describe -d 'List details for the given topics'
complete -c rk -n "__fish_rk_using_subcommand topics" -l create -d 'Create a new topic'
complete -c rk -n "__fish_rk_using_subcommand topics" -l alter -d 'Alter the number of partitions and replica assignment'
complete -c rk -n "__fish_rk_using_subcommand topics" -l delete -d 'Delete a topic'
complete -c rk -n "__fish_rk_using_subcommand topics" -l if-exists -d 'Only act if the topic exists (alter, delete, describe)'
complete -c rk -n "__fish_rk_using_subcommand topics" -l if-not-exists -d 'Only create the topic if it does not exist yet'
complete -c rk -n "__fish_rk_using_subcommand topics" -l exclude-internal -d 'Exclude internal topics when listing or describing'
complete -c rk -n "__fish_rk_using_subcommand topics" -l under-replicated-partitions -d 'Only show under-replicated partitions'
complete -c rk -n "__fish_rk_using_subcommand topics" -l under-min-isr-partitions -d 'Only show partitions whose ISR count is below min.insync.replicas'
complete -c rk -n "__fish_rk_using_subcommand topics" -l at-min-isr-partitions -d 'Only show partitions whose ISR count equals min.insync.replicas'
complete -c rk -n "__fish_rk_using_subcommand topics" -l unavailable-partitions -d 'Only show partitions whose leader is not available'
complete -c rk -n "__fish_rk_using_subcommand topics" -l topics-with-overrides -d 'Only show topics that have configs overridden'
complete -c rk -n "__fish_rk_using_subcommand topics" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand topics" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand completions" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand man" -l dir -d 'Directory to write the pages to' -r -F
complete -c rk -n "__fish_rk_using_subcommand man" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand man" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand links" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand links" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics completions man links help" -f -a "server" -d 'Run a Kafka-compatible broker (kafka-server-start.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics completions man links help" -f -a "topics" -d 'Create, list, describe, alter and delete topics (kafka-topics.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics completions man links help" -f -a "completions" -d 'Print a shell completion script for bash, zsh or fish'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics completions man links help" -f -a "man" -d 'Write man pages for rk and every subcommand'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics completions man links help" -f -a "links" -d 'Create kafka-*.sh style links to this binary in a directory'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics completions man links help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "start" -d 'Start a broker (single node). With no arguments it serves 127.0.0.1:9092 on the default data dir'
