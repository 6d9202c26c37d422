// The Java client (kafka-clients) against rk: admin, idempotent produce with the client's
// defaults, group consume with commits (classic and KIP-848 protocols), offsets by time and
// transactions. Run by tests/interop/test_java_client.py as
//   java -cp <jars> JavaClientCheck <bootstrap> <scenario>
// Each scenario prints "OK <what>" lines and exits 1 with the stack trace on any failure.

import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.*;
import org.apache.kafka.common.serialization.*;

public class JavaClientCheck {
    static String bootstrap;

    public static void main(String[] args) throws Exception {
        bootstrap = args[0];
        String scenario = args[1];
        try {
            switch (scenario) {
                case "admin" -> adminScenario();
                case "produce-consume" -> produceConsume("classic");
                case "produce-consume-kip848" -> produceConsume("consumer");
                case "offsets-for-times" -> offsetsForTimes();
                case "transactions" -> transactions();
                case "compression" -> compression();
                case "regex" -> regex(args.length > 2 ? args[2] : "classic");
                case "produce-seq" -> produceSeq(args[2], Integer.parseInt(args[3]), args[4]);
                case "share" -> share();
                case "share-phase" -> sharePhase(args[2], args[3], Integer.parseInt(args[4]));
                case "share-count" -> shareCount(args[2], args[3], Integer.parseInt(args[4]));
                case "rebalance" -> rebalance(args.length > 2 ? args[2] : "classic");
                case "telemetry" -> telemetry();
                default -> throw new IllegalArgumentException("unknown scenario " + scenario);
            }
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("DONE " + scenario);
        System.exit(0);
    }

    static void check(boolean cond, String what) {
        if (!cond) throw new AssertionError("check failed: " + what);
        System.out.println("OK " + what);
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(p);
    }

    static KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static KafkaConsumer<String, String> consumer(String group, String protocol, Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        }
        // The topics are written before the consumer joins, so it must start at the beginning.
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putAll(extra);
        return new KafkaConsumer<>(p);
    }

    static void createTopic(Admin a, String topic, int partitions) throws Exception {
        a.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
    }

    // ---- admin ---------------------------------------------------------------------------

    static void adminScenario() throws Exception {
        try (Admin a = admin()) {
            DescribeClusterResult cluster = a.describeCluster();
            Collection<Node> nodes = cluster.nodes().get();
            check(!nodes.isEmpty() && cluster.clusterId().get() != null, "describeCluster: " + nodes.size() + " node(s), id " + cluster.clusterId().get());
            check(cluster.controller().get() != null, "describeCluster controller");
            FeatureMetadata features = a.describeFeatures().featureMetadata().get();
            check(features.finalizedFeatures().containsKey("metadata.version"), "describeFeatures metadata.version");

            String topic = unique("java-admin");
            createTopic(a, topic, 3);
            check(a.listTopics().names().get().contains(topic), "createTopics + listTopics");
            try {
                createTopic(a, topic, 3);
                check(false, "duplicate createTopics refused");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof TopicExistsException, "duplicate createTopics -> TopicExistsException");
            }
            TopicDescription d = a.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
            check(d.partitions().size() == 3 && d.topicId() != null && !d.topicId().equals(Uuid.ZERO_UUID), "describeTopics: 3 partitions and a topic id");
            check(d.partitions().get(0).leader() != null, "describeTopics: partition 0 has a leader");

            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            a.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET)))).all().get();
            Config cfg = a.describeConfigs(List.of(res)).all().get().get(res);
            check("3600000".equals(cfg.get("retention.ms").value()), "incrementalAlterConfigs + describeConfigs retention.ms");
            check(cfg.get("cleanup.policy") != null && "delete".equals(cfg.get("cleanup.policy").value()), "describeConfigs default cleanup.policy=delete");
            try {
                a.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all().get();
                check(false, "unknown topic config refused");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof InvalidConfigurationException || e.getCause() instanceof InvalidRequestException, "unknown topic config refused: " + e.getCause().getClass().getSimpleName());
            }
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(nodes.iterator().next().id()));
            Config bcfg = a.describeConfigs(List.of(broker)).all().get().get(broker);
            check(bcfg.get("log.retention.hours") != null || bcfg.get("log.retention.ms") != null, "describeConfigs broker");

            a.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get();
            check(a.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size() == 4, "createPartitions 3 -> 4");

            TopicPartition tp = new TopicPartition(topic, 0);
            try (KafkaProducer<String, String> prod = producer(Map.of())) {
                long t0 = System.currentTimeMillis() - 60_000;
                // Record 7 carries the greatest timestamp.
                for (int i = 0; i < 10; i++) prod.send(new ProducerRecord<>(topic, 0, i == 7 ? t0 + 50_000 : t0 + i, "k" + i, "v" + i));
                prod.flush();
            }
            long latest = a.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
            check(latest == 10, "listOffsets latest = 10 (got " + latest + ")");
            a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).all().get();
            long earliest = a.listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get().get(tp).offset();
            check(earliest == 4, "deleteRecords -> earliest = 4 (got " + earliest + ")");
            long maxTs = a.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).all().get().get(tp).offset();
            check(maxTs == 7, "listOffsets maxTimestamp = 7 (got " + maxTs + ")");

            Map<Integer, Map<String, LogDirDescription>> dirs = a.describeLogDirs(List.of(nodes.iterator().next().id())).allDescriptions().get();
            boolean found = dirs.values().stream().flatMap(m -> m.values().stream()).anyMatch(ld -> ld.replicaInfos().containsKey(tp));
            check(found, "describeLogDirs shows " + tp);

            try {
                a.describeTopics(List.of("no-such-topic-" + UUID.randomUUID())).allTopicNames().get();
                check(false, "describeTopics of a missing topic fails");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof UnknownTopicOrPartitionException, "describeTopics missing -> UnknownTopicOrPartitionException");
            }

            a.deleteTopics(List.of(topic)).all().get();
            long deadline = System.currentTimeMillis() + 10000;
            while (a.listTopics().names().get().contains(topic) && System.currentTimeMillis() < deadline) Thread.sleep(100);
            check(!a.listTopics().names().get().contains(topic), "deleteTopics");
        }
    }

    // ---- produce and consume -------------------------------------------------------------

    static void produceConsume(String protocol) throws Exception {
        String topic = unique("java-pc");
        String group = unique("java-g");
        int n = 3000;
        try (Admin a = admin()) {
            createTopic(a, topic, 3);
            // The producer's defaults: enable.idempotence=true, acks=all.
            Map<Integer, Long> lastOffset = new HashMap<>();
            try (KafkaProducer<String, String> prod = producer(Map.of())) {
                List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
                for (int i = 0; i < n; i++) fs.add(prod.send(new ProducerRecord<>(topic, "key-" + (i % 17), "value-" + i)));
                prod.flush();
                for (var f : fs) {
                    RecordMetadata m = f.get();
                    Long prev = lastOffset.put(m.partition(), m.offset());
                    if (prev != null && m.offset() <= prev) throw new AssertionError("offsets not increasing in partition " + m.partition());
                }
            }
            check(lastOffset.values().stream().mapToLong(o -> o + 1).sum() == n, "idempotent producer with defaults acknowledged " + n + " records at dense offsets");

            Set<String> seen = new HashSet<>();
            Map<String, Integer> keyPartition = new HashMap<>();
            try (KafkaConsumer<String, String> c = consumer(group, protocol, Map.of(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"))) {
                c.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 60000;
                while (seen.size() < n && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                        if (!seen.add(r.value())) throw new AssertionError("duplicate " + r.value());
                        Integer p = keyPartition.put(r.key(), r.partition());
                        if (p != null && p != r.partition()) throw new AssertionError("key " + r.key() + " in two partitions");
                    }
                }
                check(seen.size() == n, protocol + " group consumed all " + n + " records once (got " + seen.size() + ")");
                check(c.assignment().size() == 3, protocol + " consumer assigned 3 partitions");
                c.commitSync();
                check(c.committed(c.assignment()).values().stream().mapToLong(OffsetAndMetadata::offset).sum() == n, "commitSync + committed() sum to " + n);
            }
            Map<TopicPartition, OffsetAndMetadata> committed = a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            check(committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum() == n, "admin listConsumerGroupOffsets sums to " + n);
            ConsumerGroupDescription desc = a.describeConsumerGroups(List.of(group)).all().get().get(group);
            check(desc.groupState() == GroupState.EMPTY, "describeConsumerGroups: group is Empty after close (" + desc.groupState() + ")");
            check(desc.type() == (protocol.equals("consumer") ? GroupType.CONSUMER : GroupType.CLASSIC), "describeConsumerGroups type " + desc.type());
            boolean listed = a.listGroups().all().get().stream().anyMatch(g -> g.groupId().equals(group));
            check(listed, "listGroups shows the group");

            // A second consumer in the same group resumes from the committed offsets: nothing new to read.
            String extra = "after-commit";
            try (KafkaProducer<String, String> prod = producer(Map.of())) {
                prod.send(new ProducerRecord<>(topic, 1, "k", extra)).get();
            }
            try (KafkaConsumer<String, String> c = consumer(group, protocol, Map.of())) {
                c.subscribe(List.of(topic));
                List<String> got = new ArrayList<>();
                long deadline = System.currentTimeMillis() + 30000;
                while (got.isEmpty() && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) got.add(r.value());
                }
                check(got.equals(List.of(extra)), "a new member resumes at the committed offsets (got " + got + ")");
            }
            a.deleteConsumerGroups(List.of(group)).all().get();
            check(a.listGroups().all().get().stream().noneMatch(g -> g.groupId().equals(group)), "deleteConsumerGroups");
        }
    }

    // ---- offsets for times ---------------------------------------------------------------

    static void offsetsForTimes() throws Exception {
        String topic = unique("java-ts");
        try (Admin a = admin()) {
            createTopic(a, topic, 1);
            long base = System.currentTimeMillis() - 3_600_000;
            try (KafkaProducer<String, String> prod = producer(Map.of())) {
                for (int i = 0; i < 10; i++) prod.send(new ProducerRecord<>(topic, 0, base + i * 1000L, "k", "v" + i));
                prod.flush();
            }
            TopicPartition tp = new TopicPartition(topic, 0);
            try (KafkaConsumer<String, String> c = consumer(null, null, Map.of())) {
                Map<TopicPartition, OffsetAndTimestamp> r = c.offsetsForTimes(Map.of(tp, base + 4500));
                check(r.get(tp) != null && r.get(tp).offset() == 5 && r.get(tp).timestamp() == base + 5000, "offsetsForTimes(base+4.5s) = offset 5");
                Map<TopicPartition, OffsetAndTimestamp> none = c.offsetsForTimes(Map.of(tp, base + 60_000));
                check(none.get(tp) == null, "offsetsForTimes after the last record = null");
                check(c.beginningOffsets(List.of(tp)).get(tp) == 0 && c.endOffsets(List.of(tp)).get(tp) == 10, "beginningOffsets/endOffsets");
                c.assign(List.of(tp));
                c.seek(tp, r.get(tp).offset());
                List<String> vals = new ArrayList<>();
                long deadline = System.currentTimeMillis() + 20000;
                while (vals.size() < 5 && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> rec : c.poll(Duration.ofMillis(300))) vals.add(rec.value());
                }
                check(vals.equals(List.of("v5", "v6", "v7", "v8", "v9")), "seek to the found offset reads v5..v9 (" + vals + ")");
            }
        }
    }

    // ---- transactions --------------------------------------------------------------------

    static List<String> readAll(String topic, String isolation, int partitions) {
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = consumer(null, null, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.currentTimeMillis() + 30000;
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) out.add(r.value());
                boolean done = true;
                for (TopicPartition tp : tps) done &= c.position(tp) >= end.get(tp);
                if (done) break;
            }
        }
        return out;
    }

    static void transactions() throws Exception {
        String in = unique("java-txn-in");
        String out = unique("java-txn-out");
        String group = unique("java-txn-g");
        String txnId = unique("java-txn");
        try (Admin a = admin()) {
            createTopic(a, in, 2);
            createTopic(a, out, 2);
            try (KafkaProducer<String, String> prod = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId))) {
                prod.initTransactions();
                prod.beginTransaction();
                for (int i = 0; i < 50; i++) prod.send(new ProducerRecord<>(in, "k" + i, "committed-" + i));
                prod.commitTransaction();
                prod.beginTransaction();
                for (int i = 0; i < 50; i++) prod.send(new ProducerRecord<>(in, "k" + i, "aborted-" + i));
                prod.flush();
                prod.abortTransaction();
                prod.beginTransaction();
                prod.send(new ProducerRecord<>(in, "k", "committed-last"));
                prod.commitTransaction();
            }
            List<String> rc = readAll(in, "read_committed", 2);
            check(rc.size() == 51 && rc.stream().allMatch(v -> v.startsWith("committed-")), "read_committed sees the 51 committed records only (" + rc.size() + ")");
            List<String> ru = readAll(in, "read_uncommitted", 2);
            check(ru.size() == 101, "read_uncommitted sees all 101 records (" + ru.size() + ")");
            var txns = a.listTransactions().all().get();
            check(txns.stream().anyMatch(t -> t.transactionalId().equals(txnId)), "listTransactions shows " + txnId);
            TransactionDescription td = a.describeTransactions(List.of(txnId)).all().get().get(txnId);
            check(td.state() == TransactionState.COMPLETE_COMMIT, "describeTransactions: " + td.state());

            // Consume-transform-produce: the offsets commit with the output, exactly once.
            String ctpId = unique("java-ctp");
            int copied = 0;
            Map<TopicPartition, Long> consumedTo = new HashMap<>();
            try (KafkaConsumer<String, String> c = consumer(group, "classic", Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"));
                 KafkaProducer<String, String> prod = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, ctpId))) {
                prod.initTransactions();
                c.subscribe(List.of(in));
                long deadline = System.currentTimeMillis() + 60000;
                while (copied < 51 && System.currentTimeMillis() < deadline) {
                    ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(500));
                    if (recs.isEmpty()) continue;
                    prod.beginTransaction();
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    for (ConsumerRecord<String, String> r : recs) {
                        prod.send(new ProducerRecord<>(out, r.key(), r.value().toUpperCase()));
                        offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                        consumedTo.put(new TopicPartition(r.topic(), r.partition()), r.offset() + 1);
                        copied++;
                    }
                    prod.sendOffsetsToTransaction(offsets, c.groupMetadata());
                    prod.commitTransaction();
                }
            }
            check(copied == 51, "consume-transform-produce copied 51 records (" + copied + ")");
            List<String> outVals = readAll(out, "read_committed", 2);
            check(outVals.size() == 51 && outVals.stream().allMatch(v -> v.startsWith("COMMITTED-")), "the output topic holds the 51 transformed records");
            Map<TopicPartition, Long> committed = new HashMap<>();
            a.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().forEach((tp, om) -> committed.put(tp, om.offset()));
            check(committed.equals(consumedTo), "the transaction committed the group's offsets " + committed + " (consumed to " + consumedTo + ")");

            // A second producer with the same transactional.id fences the first.
            try (KafkaProducer<String, String> p1 = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId));
                 KafkaProducer<String, String> p2 = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId))) {
                p1.initTransactions();
                p1.beginTransaction();
                p1.send(new ProducerRecord<>(in, "z", "zombie")).get();
                p2.initTransactions();
                try {
                    p1.send(new ProducerRecord<>(in, "z", "zombie2")).get();
                    p1.commitTransaction();
                    check(false, "a fenced producer cannot commit");
                } catch (ProducerFencedException | ExecutionException | InvalidProducerEpochException e) {
                    check(true, "the older producer is fenced (" + e.getClass().getSimpleName() + ")");
                } catch (KafkaException e) {
                    check(e.getCause() instanceof ProducerFencedException || e.getMessage().contains("fenced") || e.getMessage().contains("epoch"), "the older producer is fenced (" + e + ")");
                }
            }
            List<String> after = readAll(in, "read_committed", 2);
            check(after.stream().noneMatch(v -> v.startsWith("zombie")), "the zombie's records are aborted");
        }
    }

    // ---- compression and headers -------------------------------------------------------

    static void compression() throws Exception {
        try (Admin a = admin()) {
            for (String codec : List.of("gzip", "snappy", "lz4", "zstd")) {
                String topic = unique("java-" + codec);
                createTopic(a, topic, 1);
                try (KafkaProducer<String, String> prod = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec, ProducerConfig.LINGER_MS_CONFIG, "20"))) {
                    for (int i = 0; i < 500; i++) {
                        ProducerRecord<String, String> r = new ProducerRecord<>(topic, 0, "k" + i, "value-" + i + "-" + "x".repeat(i % 50));
                        r.headers().add("idx", Integer.toString(i).getBytes());
                        prod.send(r);
                    }
                    prod.flush();
                }
                List<ConsumerRecord<String, String>> got = new ArrayList<>();
                try (KafkaConsumer<String, String> c = consumer(null, null, Map.of())) {
                    TopicPartition tp = new TopicPartition(topic, 0);
                    c.assign(List.of(tp));
                    c.seekToBeginning(List.of(tp));
                    long deadline = System.currentTimeMillis() + 30000;
                    while (got.size() < 500 && System.currentTimeMillis() < deadline) c.poll(Duration.ofMillis(300)).forEach(got::add);
                }
                boolean ok = got.size() == 500;
                for (int i = 0; ok && i < 500; i++) {
                    ConsumerRecord<String, String> r = got.get(i);
                    ok = r.offset() == i && r.value().equals("value-" + i + "-" + "x".repeat(i % 50)) && new String(r.headers().lastHeader("idx").value()).equals(Integer.toString(i));
                }
                check(ok, codec + ": 500 records with headers read back in order (" + got.size() + ")");
            }
        }
    }

    // ---- regex subscriptions -------------------------------------------------------------

    static void regex(String protocol) throws Exception {
        String prefix = unique("java-re");
        String group = unique("java-re-g");
        try (Admin a = admin()) {
            createTopic(a, prefix + "-a", 2);
            createTopic(a, prefix + "-b", 2);
            createTopic(a, unique("java-other"), 2);
            try (KafkaConsumer<String, String> c = consumer(group, protocol, Map.of(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "1000"))) {
                c.subscribe(java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(prefix) + "-.*"));
                long deadline = System.currentTimeMillis() + 60000;
                while (System.currentTimeMillis() < deadline && c.assignment().size() != 4) c.poll(Duration.ofMillis(200));
                check(c.assignment().size() == 4 && c.assignment().stream().allMatch(tp -> tp.topic().startsWith(prefix)), protocol + ": the pattern matches the two topics' 4 partitions (" + c.assignment() + ")");
                createTopic(a, prefix + "-c", 2);
                deadline = System.currentTimeMillis() + 60000;
                while (System.currentTimeMillis() < deadline && c.assignment().size() != 6) c.poll(Duration.ofMillis(200));
                check(c.assignment().size() == 6, protocol + ": a new matching topic is assigned (" + c.assignment().size() + " partitions)");
            }
        }
    }

    // ---- produce a numbered sequence (the cluster failover test drives faults around it) ---

    /** Sends seq 0..n-1 as values at about 1000 records/s with the producer's defaults
     *  (idempotent, acks=all, retries until delivery.timeout.ms) and writes the acknowledged
     *  seqs to `out`, one per line, so the caller can check none is lost or doubled. */
    static void produceSeq(String topic, int n, String out) throws Exception {
        Set<Integer> acked = Collections.synchronizedSet(new TreeSet<>());
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        try (KafkaProducer<String, String> prod = producer(Map.of())) {
            for (int i = 0; i < n; i++) {
                final int seq = i;
                prod.send(new ProducerRecord<>(topic, "k" + (seq % 64), Integer.toString(seq)), (m, e) -> {
                    if (e == null) acked.add(seq); else errors.add(seq + ": " + e);
                });
                if (i % 10 == 9) Thread.sleep(10);
            }
            prod.flush();
        }
        StringBuilder sb = new StringBuilder();
        synchronized (acked) { for (int s : acked) sb.append(s).append('\n'); }
        java.nio.file.Files.writeString(java.nio.file.Path.of(out), sb.toString());
        System.out.println("acked " + acked.size() + " of " + n + ", failed " + errors.size() + (errors.isEmpty() ? "" : " e.g. " + errors.get(0)));
        check(acked.size() + errors.size() == n, "every send completed");
    }

    // ---- share groups (KIP-932) ----------------------------------------------------------

    static KafkaShareConsumer<String, String> shareConsumer(String group, String ackMode) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        if (ackMode != null) p.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, ackMode);
        return new KafkaShareConsumer<>(p);
    }

    static void share() throws Exception {
        String topic = unique("java-share");
        String group = unique("java-share-g");
        int n = 200;
        try (Admin a = admin()) {
            createTopic(a, topic, 2);
            // The records are written before the group exists: start at the earliest.
            ConfigResource gr = new ConfigResource(ConfigResource.Type.GROUP, group);
            a.incrementalAlterConfigs(Map.of(gr, List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET)))).all().get();
            try (KafkaProducer<String, String> prod = producer(Map.of())) {
                for (int i = 0; i < n; i++) prod.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
                prod.flush();
            }
            // Two members share the topic (implicit acknowledgement): every record once.
            Map<String, Integer> seen = new HashMap<>();
            try (KafkaShareConsumer<String, String> c1 = shareConsumer(group, null);
                 KafkaShareConsumer<String, String> c2 = shareConsumer(group, null)) {
                c1.subscribe(List.of(topic));
                c2.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 60000;
                int[] per = new int[2];
                while (seen.size() < n && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : c1.poll(Duration.ofMillis(300))) { seen.merge(r.value(), 1, Integer::sum); per[0]++; }
                    for (ConsumerRecord<String, String> r : c2.poll(Duration.ofMillis(300))) { seen.merge(r.value(), 1, Integer::sum); per[1]++; }
                }
                check(seen.size() == n, "two share consumers received all " + n + " records (" + seen.size() + "; " + per[0] + " + " + per[1] + ")");
                check(seen.values().stream().allMatch(c -> c == 1), "no record delivered twice");
                ShareGroupDescription d = a.describeShareGroups(List.of(group)).all().get().get(group);
                check(d.members().size() == 2 && d.groupState() == GroupState.STABLE, "describeShareGroups: 2 members, " + d.groupState());
                c1.commitSync();
                c2.commitSync();
            }
            check(a.listGroups().all().get().stream().anyMatch(g -> g.groupId().equals(group) && g.type().orElse(null) == GroupType.SHARE), "listGroups shows a share group");
            long deadline = System.currentTimeMillis() + 20000;
            long sum = 0;
            while (System.currentTimeMillis() < deadline) {
                sum = a.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(group).get()
                    .values().stream().mapToLong(SharePartitionOffsetInfo::startOffset).sum();
                if (sum == n) break;
                Thread.sleep(200);
            }
            check(sum == n, "listShareGroupOffsets: the start offsets moved past all " + n + " records (" + sum + ")");

            // Explicit acknowledgement: a released record comes back with delivery count 2, a
            // rejected one never.
            try (KafkaProducer<String, String> prod = producer(Map.of())) {
                prod.send(new ProducerRecord<>(topic, 0, "x", "release-me")).get();
                prod.send(new ProducerRecord<>(topic, 0, "x", "reject-me")).get();
                prod.send(new ProducerRecord<>(topic, 0, "x", "accept-me")).get();
            }
            try (KafkaShareConsumer<String, String> c = shareConsumer(group, "explicit")) {
                c.subscribe(List.of(topic));
                List<String> firstRound = new ArrayList<>();
                deadline = System.currentTimeMillis() + 30000;
                while (firstRound.size() < 3 && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
                        firstRound.add(r.value());
                        AcknowledgeType t = switch (r.value()) {
                            case "release-me" -> AcknowledgeType.RELEASE;
                            case "reject-me" -> AcknowledgeType.REJECT;
                            default -> AcknowledgeType.ACCEPT;
                        };
                        c.acknowledge(r, t);
                    }
                    c.commitSync();
                }
                check(firstRound.size() == 3, "explicit mode received the 3 new records (" + firstRound + ")");
                List<String> again = new ArrayList<>();
                short count = 0;
                deadline = System.currentTimeMillis() + 30000;
                while (again.isEmpty() && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
                        again.add(r.value());
                        count = r.deliveryCount().orElse((short) 0);
                        c.acknowledge(r, AcknowledgeType.ACCEPT);
                    }
                    c.commitSync();
                }
                check(again.equals(List.of("release-me")) && count == 2, "the released record came back once more, delivery count 2 (" + again + ", " + count + ")");
                List<String> none = new ArrayList<>();
                long until = System.currentTimeMillis() + 2000;
                while (System.currentTimeMillis() < until) for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) none.add(r.value());
                check(none.isEmpty(), "nothing else is redelivered (" + none + ")");
            }
            a.deleteShareGroups(List.of(group)).all().get();
            check(a.listGroups().all().get().stream().noneMatch(g -> g.groupId().equals(group)), "deleteShareGroups");
        }
    }

    /** One phase of the restart test: (creates the topic on phase 1), writes `n` records
     *  tagged with the phase, and checks a share consumer receives exactly those. */
    static void sharePhase(String topic, String group, int phase) throws Exception {
        int n = 100;
        try (Admin a = admin()) {
            if (phase == 1) {
                if (!a.listTopics().names().get().contains(topic)) createTopic(a, topic, 2);
                ConfigResource gr = new ConfigResource(ConfigResource.Type.GROUP, group);
                a.incrementalAlterConfigs(Map.of(gr, List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET)))).all().get();
            }
            try (KafkaProducer<String, String> prod = producer(Map.of())) {
                for (int i = 0; i < n; i++) prod.send(new ProducerRecord<>(topic, "k" + i, "phase" + phase + "-" + i));
                prod.flush();
            }
            Set<String> seen = new HashSet<>();
            try (KafkaShareConsumer<String, String> c = shareConsumer(group, null)) {
                c.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 60000;
                while (seen.size() < n && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
                        if (!r.value().startsWith("phase" + phase + "-")) throw new AssertionError("phase " + phase + " received " + r.value());
                        seen.add(r.value());
                    }
                }
                c.commitSync();
                long until = System.currentTimeMillis() + 1500;
                while (System.currentTimeMillis() < until) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) throw new AssertionError("unexpected " + r.value() + " at " + r.partition() + "/" + r.offset() + " delivery " + r.deliveryCount());
                }
            }
            check(seen.size() == n, "phase " + phase + ": the share group received exactly the " + n + " new records");
            long sum = a.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(group).get()
                .values().stream().mapToLong(SharePartitionOffsetInfo::startOffset).sum();
            check(sum == (long) n * phase, "phase " + phase + ": start offsets sum to " + n * phase + " (" + sum + ")");
        }
    }

    /** A share consumer of `group` receives exactly `expected` distinct records (each once). */
    static void shareCount(String topic, String group, int expected) throws Exception {
        Set<String> seen = new HashSet<>();
        int total = 0;
        try (KafkaShareConsumer<String, String> c = shareConsumer(group, null)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + (expected == 0 ? 6000 : 60000);
            while (seen.size() < expected && System.currentTimeMillis() < deadline || expected == 0 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
                    seen.add(r.partition() + "/" + r.offset());
                    total++;
                }
            }
            c.commitSync();
            long until = System.currentTimeMillis() + 1500;
            while (System.currentTimeMillis() < until) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
                    seen.add(r.partition() + "/" + r.offset());
                    total++;
                }
            }
        }
        check(seen.size() == expected && total == expected, "the share group received " + expected + " records once each (" + seen.size() + " distinct, " + total + " in all)");
    }

    // ---- rebalance -----------------------------------------------------------------------

    static void rebalance(String protocol) throws Exception {
        String topic = unique("java-rb");
        String group = unique("java-rb-g");
        try (Admin a = admin()) {
            createTopic(a, topic, 6);
            try (KafkaConsumer<String, String> c1 = consumer(group, protocol, Map.of());
                 KafkaConsumer<String, String> c2 = consumer(group, protocol, Map.of())) {
                c1.subscribe(List.of(topic));
                c2.subscribe(List.of(topic));
                long deadline = System.currentTimeMillis() + 90000;
                while (System.currentTimeMillis() < deadline) {
                    c1.poll(Duration.ofMillis(200));
                    c2.poll(Duration.ofMillis(200));
                    if (c1.assignment().size() == 3 && c2.assignment().size() == 3) break;
                }
                Set<TopicPartition> both = new HashSet<>(c1.assignment());
                both.addAll(c2.assignment());
                check(c1.assignment().size() == 3 && c2.assignment().size() == 3 && both.size() == 6, protocol + ": two members share 6 partitions 3/3 (" + c1.assignment().size() + "/" + c2.assignment().size() + ")");
                c2.close();
                deadline = System.currentTimeMillis() + 60000;
                while (System.currentTimeMillis() < deadline && c1.assignment().size() != 6) c1.poll(Duration.ofMillis(200));
                check(c1.assignment().size() == 6, protocol + ": the remaining member takes all 6 after the other leaves");
            }
        }
    }

    // KIP-714: with its defaults (enable.metrics.push=true) the client learns its instance id
    // from GetTelemetrySubscriptions and pushes what a subscription asks for.
    static void telemetry() throws Exception {
        String topic = unique("java-tele");
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        // The admin client is the one that pushes nothing by default.
        ap.put(AdminClientConfig.ENABLE_METRICS_PUSH_CONFIG, true);
        try (Admin a = Admin.create(ap)) {
            a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            Uuid id = a.clientInstanceId(Duration.ofSeconds(15));
            check(id != null && !id.equals(Uuid.ZERO_UUID), "admin clientInstanceId");
        }
        try (KafkaProducer<String, String> prod = producer(Map.of())) {
            prod.send(new ProducerRecord<>(topic, "k", "v")).get();
            Uuid id = prod.clientInstanceId(Duration.ofSeconds(15));
            check(id != null && !id.equals(Uuid.ZERO_UUID), "producer clientInstanceId");
            System.out.println("INSTANCE " + id);
            long end = System.currentTimeMillis() + 4000;
            while (System.currentTimeMillis() < end) {
                prod.send(new ProducerRecord<>(topic, "k", "v")).get();
                Thread.sleep(50);
            }
        }
    }
}
