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
complete -c rk -n "__fish_rk_needs_command" -f -a "configs" -d 'Describe and alter topic and broker configs, client quotas and SCRAM credentials (kafka-configs.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "acls" -d 'Add, remove and list ACLs (kafka-acls.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "client-metrics" -d 'List, describe, alter and delete client-metrics subscriptions, KIP-714 (kafka-client-metrics.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "console" -d 'A web console for any Kafka-compatible cluster: topics, messages, groups, lag (kafka-map)'
complete -c rk -n "__fish_rk_needs_command" -f -a "console-producer" -d 'Read lines from stdin and produce them as records (kafka-console-producer.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "console-consumer" -d 'Consume records and print them (kafka-console-consumer.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "consumer-groups" -d 'List, describe, reset and delete consumer groups (kafka-consumer-groups.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "share-groups" -d 'List, describe and delete share groups (kafka-share-groups.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "dump-log" -d 'Print the batches and records of log segments and metadata snapshots (kafka-dump-log.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "transactions" -d 'List, describe, abort and find hanging transactions (kafka-transactions.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "leader-election" -d 'Elect preferred or unclean partition leaders (kafka-leader-election.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "metadata-quorum" -d 'Describe the KRaft metadata quorum: status and replication (kafka-metadata-quorum.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "reassign-partitions" -d 'Generate, execute, verify, cancel and list partition reassignments (kafka-reassign-partitions.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "perf-test" -d 'Producer, consumer and end-to-end latency benchmarks (kafka-*-perf-test.sh)'
complete -c rk -n "__fish_rk_needs_command" -f -a "completions" -d 'Print a shell completion script for bash, zsh or fish'
complete -c rk -n "__fish_rk_needs_command" -f -a "man" -d 'Write man pages for rk and every subcommand'
complete -c rk -n "__fish_rk_needs_command" -f -a "links" -d 'Create kafka-*.sh style links to this binary in a directory'
complete -c rk -n "__fish_rk_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -f -a "start" -d 'Start a broker (single node), or with --nodes N a local cluster. With no arguments it serves 127.0.0.1:9092 on the default data dir'
complete -c rk -n "__fish_rk_using_subcommand server; and not __fish_seen_subcommand_from start help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l override -d 'Override a property: --override key=value (repeatable; wins over the file)' -r
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l data-dir -d 'Data directory (log.dirs)' -r -F
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l listen -d 'Listen address host:port (listeners)' -r
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l node-id -d 'Node id (node.id)' -r
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l nodes -d 'Start a local cluster of N nodes (broker + controller each) on consecutive ports from --listen (controllers 100 above; port 0: free ports), data in <data-dir>/node-<i>, and print its bootstrap servers' -r
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -l supervised -d 'Stop (controlled shutdown) when stdin closes: how `--nodes` supervises its nodes'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from start" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand server; and __fish_seen_subcommand_from help" -f -a "start" -d 'Start a broker (single node), or with --nodes N a local cluster. With no arguments it serves 127.0.0.1:9092 on the default data dir'
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
complete -c rk -n "__fish_rk_using_subcommand configs" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand configs" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l entity-type -d 'Type of entity: topics, brokers, users, clients, ips, groups or client-metrics (repeatable: users and clients)' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l entity-name -d 'Name of entity: topic name, broker id, user principal name, client id, ip, group id or client-metrics subscription' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l add-config -d 'Configs to add: \'k1=v1,k2=[v1,v2,v2],k3=v3\' (square brackets group values with commas). Users also take SCRAM-SHA-256=[iterations=8192,password=secret] and SCRAM-SHA-512=[password=secret]' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l add-config-file -d 'A properties file with configs to add' -r -F
complete -c rk -n "__fish_rk_using_subcommand configs" -l delete-config -d 'Config keys to remove: \'k1,k2\'' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l topic -d 'The topic\'s name' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l client -d 'The client\'s id' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l user -d 'The user\'s principal name' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l broker -d 'The broker\'s id' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l ip -d 'The IP address' -r
complete -c rk -n "__fish_rk_using_subcommand configs" -l output -d 'Output format' -r -f -a "text\t''
json\t''
table\t''"
complete -c rk -n "__fish_rk_using_subcommand configs" -l describe -d 'List configs for the given entity'
complete -c rk -n "__fish_rk_using_subcommand configs" -l alter -d 'Alter the configuration for the entity'
complete -c rk -n "__fish_rk_using_subcommand configs" -l all -d 'List all configs for the given entity, including static and default ones'
complete -c rk -n "__fish_rk_using_subcommand configs" -l entity-default -d 'Default entity for clients, users, brokers or ips (applies to the matching --entity-type)'
complete -c rk -n "__fish_rk_using_subcommand configs" -l client-defaults -d 'The config defaults for all clients'
complete -c rk -n "__fish_rk_using_subcommand configs" -l user-defaults -d 'The config defaults for all users'
complete -c rk -n "__fish_rk_using_subcommand configs" -l broker-defaults -d 'The config defaults for all brokers'
complete -c rk -n "__fish_rk_using_subcommand configs" -l ip-defaults -d 'The config defaults for all IPs'
complete -c rk -n "__fish_rk_using_subcommand configs" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand configs" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand acls" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand acls" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l bootstrap-controller -d 'Controllers to connect to (host:port,...); rk nodes answer on their client port' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l allow-principal -d 'Principal in principalType:name format; User:* is the wildcard for all users' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l deny-principal -d 'Principal in principalType:name format to deny (deny rules take precedence)' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l allow-host -d 'Host from which --allow-principal has access (default: * when a principal is given)' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l deny-host -d 'Host from which --deny-principal is denied access (default: *)' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l operation -d 'Operation being allowed or denied: All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens (repeatable; default All)' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l topic -d 'Topic to which ACLs should be added or removed; * means all topics' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l group -d 'Consumer group to which ACLs should be added or removed; * means all groups' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l transactional-id -d 'Transactional id to which ACLs should be added or removed; * means all' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l delegation-token -d 'Delegation token to which ACLs should be added or removed; * means all' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l user-principal -d 'A user principal as a resource (CreateTokens / DescribeTokens)' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l resource-pattern-type -d 'literal or prefixed when adding; also match or any when listing or removing' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l principal -d 'With --list: only the ACLs of this principal (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand acls" -l output -d 'Output format: Kafka\'s text, JSON or a table' -r -f -a "text\t''
json\t''
table\t''"
complete -c rk -n "__fish_rk_using_subcommand acls" -l add -d 'Indicates you are trying to add ACLs'
complete -c rk -n "__fish_rk_using_subcommand acls" -l remove -d 'Indicates you are trying to remove ACLs'
complete -c rk -n "__fish_rk_using_subcommand acls" -l list -d 'List ACLs for the specified resource, use --topic <topic> or --group <group> or --cluster to specify a resource'
complete -c rk -n "__fish_rk_using_subcommand acls" -l cluster -d 'Add/Remove cluster ACLs'
complete -c rk -n "__fish_rk_using_subcommand acls" -l producer -d 'Convenience: ACLs for a producer (WRITE, DESCRIBE, CREATE on topics)'
complete -c rk -n "__fish_rk_using_subcommand acls" -l consumer -d 'Convenience: ACLs for a consumer (READ, DESCRIBE on topics, READ on groups)'
complete -c rk -n "__fish_rk_using_subcommand acls" -l idempotent -d 'With --producer: IDEMPOTENT_WRITE on the cluster too'
complete -c rk -n "__fish_rk_using_subcommand acls" -l force -d 'Assume Yes to all queries and do not prompt'
complete -c rk -n "__fish_rk_using_subcommand acls" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand acls" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l name -d 'Name of client metrics configuration resource' -r
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l interval -d 'The metrics push interval in milliseconds' -r
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l match -d 'Matching selector \'k1=v1,k2=v2\' (regular expressions). Selectors: client_id, client_instance_id, client_software_name, client_software_version, client_source_address, client_source_port' -r
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l metrics -d 'Telemetry metric name prefixes \'m1,m2\' (\'*\' for all)' -r
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l output -d 'Output format for --list and --describe' -r -f -a "text\t''
json\t''
table\t''"
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l alter -d 'Alter the configuration for the client metrics resource'
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l delete -d 'Delete the configuration for the client metrics resource'
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l describe -d 'List configurations for the client metrics resource'
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l list -d 'List the client metrics resources'
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -l generate-name -d 'Generate a UUID to use as the name'
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand client-metrics" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand console" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand console" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand console" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand console" -l listen -d 'Where the console listens (loopback by default)' -r
complete -c rk -n "__fish_rk_using_subcommand console" -l clusters -d 'Several clusters to switch between: a properties file of `<name>.bootstrap.servers=…` and any other client property as `<name>.<key>=…`' -r -F
complete -c rk -n "__fish_rk_using_subcommand console" -l username -d 'The login user name (kafka-map\'s DEFAULT_USERNAME)' -r
complete -c rk -n "__fish_rk_using_subcommand console" -l password -d 'The login password (kafka-map\'s DEFAULT_PASSWORD); or --password-file' -r
complete -c rk -n "__fish_rk_using_subcommand console" -l password-file -d 'A file whose first line is the login password' -r -F
complete -c rk -n "__fish_rk_using_subcommand console" -l metrics-url -d 'The brokers\' metrics endpoints (rk\'s metrics.listener, comma-separated) for the live throughput and lag charts of the cluster given with --bootstrap-server' -r
complete -c rk -n "__fish_rk_using_subcommand console" -l read-only -d 'Show everything, change nothing'
complete -c rk -n "__fish_rk_using_subcommand console" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand console" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l broker-list -d 'Deprecated alias of --bootstrap-server' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l topic -d 'The topic to produce to' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l input-file -d 'Read lines from this file instead of stdin' -r -F
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l compression-codec -d 'Compression codec: none, gzip, snappy, lz4 or zstd (the flag alone means gzip)' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l batch-size -d 'batch.size in bytes' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l message-send-max-retries -d 'Retries for retriable errors' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l retry-backoff-ms -d 'retry.backoff.ms' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l timeout -d 'linger.ms: how long a record may wait for its batch to fill (Kafka\'s default 1000)' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l request-required-acks -d 'acks: -1/all, 0 or 1' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l request-timeout-ms -d 'request.timeout.ms' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l metadata-expiry-ms -d 'Accepted for compatibility (metadata is refreshed on demand)' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l max-block-ms -d 'Accepted for compatibility' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l max-memory-bytes -d 'Accepted for compatibility' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l max-partition-memory-bytes -d 'batch.size (Kafka\'s older name)' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l socket-buffer-size -d 'Accepted for compatibility' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l line-reader -d 'Only Kafka\'s default reader is built in' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l property -l reader-property -d 'Reader property: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l reader-config -d 'A file of reader properties (--property wins)' -r -F
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l producer-property -d 'A producer property: key=value (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l producer.config -d 'A producer properties file' -r -F
complete -c rk -n "__fish_rk_using_subcommand console-producer" -l sync -d 'Send each record synchronously, one at a time'
complete -c rk -n "__fish_rk_using_subcommand console-producer" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand console-producer" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l topic -d 'The topic to consume' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l include -l whitelist -d 'Regular expression of topics to consume (whole-name match)' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l partition -d 'Consume only this partition (starts at the end unless --offset/--from-beginning)' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l offset -d 'Start offset with --partition: earliest, latest or a non-negative number' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l group -d 'The consumer group (default: a random console-consumer-N group without commits)' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l max-messages -d 'Exit after this many messages' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l timeout-ms -d 'Exit (cleanly) when no message arrives for this many milliseconds' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l formatter -d 'Only Kafka\'s DefaultMessageFormatter is built in' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l property -l formatter-property -d 'Formatter property: print.timestamp, print.key, print.offset, print.partition, print.headers, print.value, print.topic, key.separator, line.separator, headers.separator, null.literal' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l formatter-config -d 'A file of formatter properties' -r -F
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l key-deserializer -d 'Key deserializer: StringDeserializer, ByteArrayDeserializer, LongDeserializer, IntegerDeserializer, ShortDeserializer, DoubleDeserializer' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l value-deserializer -d 'Value deserializer (same choices as --key-deserializer)' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l consumer-property -d 'A consumer property: key=value (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l consumer.config -d 'A consumer properties file' -r -F
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l isolation-level -d 'read_uncommitted (default) or read_committed' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l format -d 'A kcat-style template: %t topic, %p partition, %o offset, %k key, %v or %s value, %h headers, %T timestamp, %K key length, %V value length; \\n \\t \\\\ escapes' -r
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l from-beginning -d 'Start from the earliest offset when the group has no committed offset'
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l exit-at-end -d 'Exit once the end of every assigned partition (as of start-up) is reached'
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l skip-message-on-error -d 'Skip records that cannot be formatted instead of stopping'
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -l json -d 'Print each record as one JSON object (non-UTF-8 keys/values as base64)'
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand console-consumer" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l group -d 'The consumer group (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l topic -d 'Topic scope: topic or topic:0,1,2 (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l state -d 'Describe view: group state; with --list, filter by states (comma-separated)' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l type -d 'With --list, filter by group type (classic, consumer)' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l to-offset -d 'Reset to this offset' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l shift-by -d 'Shift the current offset by N (may be negative)' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l to-datetime -d 'Reset to the first offset at or after \'YYYY-MM-DDTHH:mm:SS.sss[Z|+HH:mm]\'' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l by-duration -d 'Reset to the offset by duration from now: PnDTnHnMnS' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l from-file -d 'Reset to the offsets in a CSV file (topic,partition,offset or group,topic,partition,offset)' -r -F
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l timeout -d 'Admin call timeout in milliseconds' -r
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l output -d 'Output format for --list and --describe' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l list -d 'List all consumer groups'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l describe -d 'Describe consumer groups and their lag'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l delete -d 'Delete consumer groups'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l reset-offsets -d 'Reset the committed offsets of consumer groups'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l delete-offsets -d 'Delete committed offsets of a group for topics/partitions'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l all-groups -d 'Apply to all consumer groups'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l all-topics -d 'Reset scope: every topic the group has committed offsets for'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l offsets -d 'Describe view: committed offsets and lag (default)'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l members -d 'Describe view: members'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l verbose -d 'More detail (member assignments; log start offset and total lag in the offsets view)'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l dry-run -d 'Print the reset plan only (the default)'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l execute -d 'Perform the reset'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l export -d 'Print the reset plan as CSV (readable by --from-file)'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l to-earliest -d 'Reset to the earliest offset'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l to-latest -d 'Reset to the latest offset'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -l to-current -d 'Reset to the current committed offset (log end where none)'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand consumer-groups" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l topic -d 'The topic, as TOPIC or TOPIC:P1,P2 for --reset-offsets (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l to-datetime -d 'Reset to the first offset at or after \'YYYY-MM-DDTHH:mm:SS.sss[Z|+HH:mm]\'' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l to-offset -d 'Reset to this offset' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l group -d 'The share group (repeatable)' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l state -d 'Describe view: group state; with --list, filter by states (comma-separated)' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l timeout -d 'Admin call timeout in milliseconds' -r
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l output -d 'Output format for --list and --describe' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l list -d 'List all share groups'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l describe -d 'Describe share groups: start offsets and lag (default), members or state'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l delete -d 'Delete share groups (only groups without active members)'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l reset-offsets -d 'Reset the start offsets of an inactive share group (--dry-run shows the plan)'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l delete-offsets -d 'Delete the start offsets of topics from an inactive share group'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l all-topics -d 'Reset the start offsets of every topic the group has offsets for'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l to-earliest -d 'Reset to the earliest offset'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l to-latest -d 'Reset to the latest offset'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l dry-run -d 'Print the reset plan only (the default)'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l execute -d 'Perform the reset'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l all-groups -d 'Apply to all share groups'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l offsets -d 'Describe view: start offsets and lag (default)'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l members -d 'Describe view: members'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -l verbose -d 'More detail (member epochs; group and assignment epochs)'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand share-groups" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand dump-log" -l files -d 'REQUIRED: The comma separated list of data log files to be dumped' -r
complete -c rk -n "__fish_rk_using_subcommand dump-log" -l max-bytes -d 'Stop after this many bytes of batches per file' -r
complete -c rk -n "__fish_rk_using_subcommand dump-log" -l print-data-log -d 'Print the records\' content (implied by the decoders)'
complete -c rk -n "__fish_rk_using_subcommand dump-log" -l deep-iteration -d 'Print every record, not only batch headers (implied by --print-data-log)'
complete -c rk -n "__fish_rk_using_subcommand dump-log" -l cluster-metadata-decoder -d 'Decode values as cluster metadata records (__cluster_metadata)'
complete -c rk -n "__fish_rk_using_subcommand dump-log" -l offsets-decoder -d 'Decode records as __consumer_offsets keys and values'
complete -c rk -n "__fish_rk_using_subcommand dump-log" -l skip-record-metadata -d 'Do not print each record\'s metadata (offset, timestamp, sizes)'
complete -c rk -n "__fish_rk_using_subcommand dump-log" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand dump-log" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -l command-config -d 'A Java properties file with admin client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -l output -d 'Output format: Kafka\'s text tables, or JSON' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -f -a "list" -d 'List transactions'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -f -a "describe" -d 'Describe the state of an active transactional-id'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -f -a "describe-producers" -d 'Describe the states of active producers for a topic partition'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -f -a "abort" -d 'Abort a hanging transaction (requires administrative privileges)'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -f -a "find-hanging" -d 'Find hanging transactions'
complete -c rk -n "__fish_rk_using_subcommand transactions; and not __fish_seen_subcommand_from list describe describe-producers abort find-hanging help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l duration-filter -d 'Duration (in millis) to filter by: if < 0, all transactions will be returned; otherwise, only transactions running longer than this duration will be returned' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l transactional-id-pattern -d 'Transactional id regular expression pattern to filter by (brokers with ListTransactions v2, KIP-1152)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l state-filter -d 'Only transactions in these states, comma-separated (e.g. Ongoing,PrepareAbort; an rk extension)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l producer-id-filter -d 'Only transactions of these producer ids, comma-separated (an rk extension)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l command-config -d 'A Java properties file with admin client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -l output -d 'Output format: Kafka\'s text tables, or JSON' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe" -l transactional-id -d 'Transactional id' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe" -l command-config -d 'A Java properties file with admin client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe" -l output -d 'Output format: Kafka\'s text tables, or JSON' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -l broker-id -d 'Optional broker id to describe the producer state on a specific replica' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -l topic -d 'Topic name' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -l partition -d 'Partition number' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -l command-config -d 'A Java properties file with admin client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -l output -d 'Output format: Kafka\'s text tables, or JSON' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from describe-producers" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l topic -d 'Topic name' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l partition -d 'Partition number' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l start-offset -d 'Start offset of the transaction to abort' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l producer-id -d 'Producer id' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l producer-epoch -d 'Producer epoch' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l coordinator-epoch -d 'Coordinator epoch (a negative value is sent as 0)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l command-config -d 'A Java properties file with admin client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -l output -d 'Output format: Kafka\'s text tables, or JSON' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from abort" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l broker-id -d 'Broker id to search for hanging transactions' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l max-transaction-timeout -d 'Maximum transaction timeout in minutes to limit the scope of the search (15 minutes by default)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l topic -d 'Topic name to limit search to (required if --partition is specified)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l partition -d 'Partition number' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l command-config -d 'A Java properties file with admin client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -l output -d 'Output format: Kafka\'s text tables, or JSON' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from find-hanging" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from help" -f -a "list" -d 'List transactions'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Describe the state of an active transactional-id'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from help" -f -a "describe-producers" -d 'Describe the states of active producers for a topic partition'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from help" -f -a "abort" -d 'Abort a hanging transaction (requires administrative privileges)'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from help" -f -a "find-hanging" -d 'Find hanging transactions'
complete -c rk -n "__fish_rk_using_subcommand transactions; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l admin.config -d 'Admin client properties file (Kafka\'s --admin.config)' -r -F
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l election-type -d 'Type of election: preferred or unclean' -r -f -a "preferred\t''
unclean\t''"
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l topic -d 'The topic of the partition to elect a leader for (with --partition)' -r
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l partition -d 'The partition to elect a leader for (with --topic)' -r
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l path-to-json-file -d 'A JSON file: {"partitions":[{"topic":"foo","partition":1},...]}' -r -F
complete -c rk -n "__fish_rk_using_subcommand leader-election" -l all-topic-partitions -d 'Elect leaders for every partition'
complete -c rk -n "__fish_rk_using_subcommand leader-election" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand leader-election" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -l bootstrap-server -d 'A comma-separated list of host:port pairs to use for establishing the connection to the Kafka cluster. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -l bootstrap-controller -d 'A comma-separated list of host:port pairs to use for establishing the connection to the Kafka controllers (rk sends the same DescribeQuorum to them)' -r
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -l command-config -d 'Property file containing configs to be passed to Admin Client' -r -F
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -l output -d 'Output format: Kafka\'s text, or JSON (snake_case keys; timestamps in epoch ms or null)' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -f -a "describe" -d 'Describe the metadata quorum info'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and not __fish_seen_subcommand_from describe help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l bootstrap-server -d 'A comma-separated list of host:port pairs to use for establishing the connection to the Kafka cluster. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l bootstrap-controller -d 'A comma-separated list of host:port pairs to use for establishing the connection to the Kafka controllers (rk sends the same DescribeQuorum to them)' -r
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l command-config -d 'Property file containing configs to be passed to Admin Client' -r -F
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l output -d 'Output format: Kafka\'s text, or JSON (snake_case keys; timestamps in epoch ms or null)' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l status -d 'A short summary of the quorum status and the other provides detailed information about the status of replication'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l replication -d 'Detailed information about the status of replication'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -l human-readable -d 'Human-readable output (with --replication): timestamps as "N ms ago"'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from describe" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from help" -f -a "describe" -d 'Describe the metadata quorum info'
complete -c rk -n "__fish_rk_using_subcommand metadata-quorum; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l bootstrap-server -d 'The server(s) to use for bootstrapping: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l bootstrap-controller -d 'The controller to use for reassignment (--cancel and --list only); rk sends the same Kafka-protocol requests to it' -r
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l command-config -d 'Property file containing configs to be passed to Admin Client' -r -F
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l command-property -d 'An admin client property: key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l reassignment-json-file -d 'The JSON file with the partition reassignment configuration: {"partitions":[{"topic":"foo","partition":1,"replicas":[1,2,3],"log_dirs":["dir1","dir2","dir3"]}],"version":1}. "log_dirs" is optional; when given it has one entry per replica, "any" or an absolute log directory path on that broker' -r -F
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l topics-to-move-json-file -d 'Generate a reassignment configuration to move the partitions of the specified topics to the brokers of --broker-list: {"topics":[{"topic":"foo"},{"topic":"foo1"}],"version":1}' -r -F
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l broker-list -d 'The brokers to which the partitions need to be reassigned, as "0,1,2" (with --topics-to-move-json-file)' -r
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l throttle -d 'Throttle the movement of partitions between brokers to this many bytes/sec (with --execute; resubmit with --additional to change it). Default: no throttle' -r
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l replica-alter-log-dirs-throttle -d 'Throttle the movement of replicas between log directories of a broker to this many bytes/sec. Default: no throttle' -r
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l timeout -d 'The maximum time in ms to wait for log directory replica assignment to begin. [default: 10000]' -r
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l verify -d 'Verify if the reassignment completed as specified by the --reassignment-json-file option. If there is a throttle engaged for the replicas specified, and the rebalance has completed, the throttle will be removed'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l generate -d 'Generate a candidate partition reassignment configuration. Note that this only generates a candidate assignment, it does not execute it'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l execute -d 'Kick off the reassignment as specified by the --reassignment-json-file option'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l cancel -d 'Cancel an active reassignment'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l list -d 'List all active partition reassignments'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l disable-rack-aware -d 'Disable rack aware replica assignment'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l additional -d 'Execute this reassignment in addition to any other ongoing ones (also used to change the throttle of an ongoing reassignment)'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -l preserve-throttles -d 'Do not modify broker or topic throttles'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand reassign-partitions" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and not __fish_seen_subcommand_from producer consumer e2e help" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and not __fish_seen_subcommand_from producer consumer e2e help" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and not __fish_seen_subcommand_from producer consumer e2e help" -f -a "producer" -d 'Producer throughput and latency (kafka-producer-perf-test.sh)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and not __fish_seen_subcommand_from producer consumer e2e help" -f -a "consumer" -d 'Consumer throughput (kafka-consumer-perf-test.sh)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and not __fish_seen_subcommand_from producer consumer e2e help" -f -a "e2e" -d 'End-to-end latency: produce one record, consume it, repeat (like Kafka\'s EndToEndLatency)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and not __fish_seen_subcommand_from producer consumer e2e help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l topic -d 'Topic to produce to' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l num-records -d 'Number of records to send (after any warm-up records)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l record-size -d 'Size of each record in bytes' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l payload-file -d 'File of payloads (split by --payload-delimiter); one is picked at random per record' -r -F
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l payload-delimiter -d 'Delimiter of --payload-file' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l throughput -d 'Records per second (-1: unthrottled)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l producer-props -d 'Producer properties key=value (values may contain \'=\')' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l producer.config -d 'Producer properties file' -r -F
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l warmup-records -d 'Records sent first and left out of the steady-state summary (KIP-1052)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l reporting-interval -d 'Milliseconds between periodic lines' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l producers -d 'Number of producers sharing the load in this process' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l transactional-id -d 'The transactional id to use (takes precedence over transactional.id in --producer-props/--producer.config). Without it, --transaction-duration-ms uses performance-producer- followed by a random uuid' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l transaction-duration-ms -d 'The max age of each transaction: commitTransaction is called after this time has elapsed (default 3000 when transactions are enabled)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l output -d '`json` adds one JSON summary object as the last line' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l payload-monotonic -d 'Payloads are the decimal record index'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -l print-metrics -d 'Accepted for compatibility (rk prints no client metrics yet)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from producer" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l topic -d 'Topic to consume' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l messages -l num-records -d 'Number of records to consume' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l group -d 'Consumer group (default perf-consumer-<random>)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l fetch-size -d 'max.partition.fetch.bytes' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l socket-buffer-size -d 'Accepted for compatibility' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l consumer.config -d 'Consumer properties file' -r -F
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l timeout -d 'Maximum time between records in milliseconds before giving up' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l reporting-interval -d 'Milliseconds between detailed rows' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l date-format -d 'Date format of start/end times (Java SimpleDateFormat subset)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l consumers -d 'Number of consumers (one group) sharing the partitions in this process' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l from-latest -d 'Start from the latest offset instead of the earliest'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l show-detailed-stats -d 'Print a row per reporting interval instead of one summary'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l hide-header -d 'Do not print the header'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -l print-metrics -d 'Accepted for compatibility (rk prints no client metrics yet)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from consumer" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l bootstrap-server -d 'The Kafka server(s) to connect to: host:port[,host:port]. Defaults to $RK_BROKERS, then localhost:9092' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l command-config -d 'A Java properties file with client configs (bootstrap.servers, client.id, request.timeout.ms, …)' -r -F
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l command-property -d 'A client property (KIP-1147): key=value (repeatable; wins over --command-config)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l topic -d 'Topic to use (created beforehand)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l num-records -d 'Number of records' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l record-size -d 'Record size in bytes (at least 16)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l acks -d 'Producer acks: -1/all, 0 or 1' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l throughput -d 'Records per second (0: one at a time, each after the previous arrived)' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l timeout -d 'Give up after this many milliseconds without a record' -r
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -l output -d '`json` adds one JSON summary object as the last line' -r -f -a "text\t''
json\t''"
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from e2e" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from help" -f -a "producer" -d 'Producer throughput and latency (kafka-producer-perf-test.sh)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from help" -f -a "consumer" -d 'Consumer throughput (kafka-consumer-perf-test.sh)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from help" -f -a "e2e" -d 'End-to-end latency: produce one record, consume it, repeat (like Kafka\'s EndToEndLatency)'
complete -c rk -n "__fish_rk_using_subcommand perf-test; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand completions" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand man" -l dir -d 'Directory to write the pages to' -r -F
complete -c rk -n "__fish_rk_using_subcommand man" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand man" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand links" -s h -l help -d 'Print help'
complete -c rk -n "__fish_rk_using_subcommand links" -s V -l version -d 'Print version'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "server" -d 'Run a Kafka-compatible broker (kafka-server-start.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "topics" -d 'Create, list, describe, alter and delete topics (kafka-topics.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "configs" -d 'Describe and alter topic and broker configs, client quotas and SCRAM credentials (kafka-configs.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "acls" -d 'Add, remove and list ACLs (kafka-acls.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "client-metrics" -d 'List, describe, alter and delete client-metrics subscriptions, KIP-714 (kafka-client-metrics.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "console" -d 'A web console for any Kafka-compatible cluster: topics, messages, groups, lag (kafka-map)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "console-producer" -d 'Read lines from stdin and produce them as records (kafka-console-producer.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "console-consumer" -d 'Consume records and print them (kafka-console-consumer.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "consumer-groups" -d 'List, describe, reset and delete consumer groups (kafka-consumer-groups.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "share-groups" -d 'List, describe and delete share groups (kafka-share-groups.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "dump-log" -d 'Print the batches and records of log segments and metadata snapshots (kafka-dump-log.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "transactions" -d 'List, describe, abort and find hanging transactions (kafka-transactions.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "leader-election" -d 'Elect preferred or unclean partition leaders (kafka-leader-election.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "metadata-quorum" -d 'Describe the KRaft metadata quorum: status and replication (kafka-metadata-quorum.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "reassign-partitions" -d 'Generate, execute, verify, cancel and list partition reassignments (kafka-reassign-partitions.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "perf-test" -d 'Producer, consumer and end-to-end latency benchmarks (kafka-*-perf-test.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "completions" -d 'Print a shell completion script for bash, zsh or fish'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "man" -d 'Write man pages for rk and every subcommand'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "links" -d 'Create kafka-*.sh style links to this binary in a directory'
complete -c rk -n "__fish_rk_using_subcommand help; and not __fish_seen_subcommand_from server topics configs acls client-metrics console console-producer console-consumer consumer-groups share-groups dump-log transactions leader-election metadata-quorum reassign-partitions perf-test completions man links help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from server" -f -a "start" -d 'Start a broker (single node), or with --nodes N a local cluster. With no arguments it serves 127.0.0.1:9092 on the default data dir'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from transactions" -f -a "list" -d 'List transactions'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from transactions" -f -a "describe" -d 'Describe the state of an active transactional-id'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from transactions" -f -a "describe-producers" -d 'Describe the states of active producers for a topic partition'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from transactions" -f -a "abort" -d 'Abort a hanging transaction (requires administrative privileges)'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from transactions" -f -a "find-hanging" -d 'Find hanging transactions'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from metadata-quorum" -f -a "describe" -d 'Describe the metadata quorum info'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from perf-test" -f -a "producer" -d 'Producer throughput and latency (kafka-producer-perf-test.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from perf-test" -f -a "consumer" -d 'Consumer throughput (kafka-consumer-perf-test.sh)'
complete -c rk -n "__fish_rk_using_subcommand help; and __fish_seen_subcommand_from perf-test" -f -a "e2e" -d 'End-to-end latency: produce one record, consume it, repeat (like Kafka\'s EndToEndLatency)'
