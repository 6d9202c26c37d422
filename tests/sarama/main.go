// sarama_check drives rk with sarama 1.22 (Debian's golang-github-shopify-sarama-dev),
// the Go client of the study notes, with its defaults: Kafka 0.8.2 request versions
// (Produce v0 with message format v0, Fetch v0, OffsetCommit v1), then the versions of
// later eras it picks from config.Version. Usage: sarama_check <broker> <topic>.
// Prints one "ok ..." line per check; exits 1 on the first failure.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/Shopify/sarama"
)

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", a...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// produce sends n messages with one config and returns their offsets.
func produce(broker, topic string, cfg *sarama.Config, n int, tag string) []int64 {
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer([]string{broker}, cfg)
	check(err, "producer "+tag)
	defer p.Close()
	var offsets []int64
	for i := 0; i < n; i++ {
		_, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0,
			Key: sarama.StringEncoder(fmt.Sprintf("%s-%d", tag, i)), Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i))})
		check(err, "produce "+tag)
		offsets = append(offsets, off)
	}
	return offsets
}

// consume reads `want` messages from offset `from` of partition 0.
func consume(broker, topic string, cfg *sarama.Config, from int64, want int) []*sarama.ConsumerMessage {
	c, err := sarama.NewConsumer([]string{broker}, cfg)
	check(err, "consumer")
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, from)
	check(err, "consume partition")
	defer pc.Close()
	var got []*sarama.ConsumerMessage
	timeout := time.After(20 * time.Second)
	for len(got) < want {
		select {
		case m := <-pc.Messages():
			got = append(got, m)
		case e := <-pc.Errors():
			fail("consume: %v", e)
		case <-timeout:
			fail("consumed %d of %d messages", len(got), want)
		}
	}
	return got
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: sarama_check <broker> <topic>")
	}
	broker, topic := os.Args[1], os.Args[2]

	// The defaults: Version 0.8.2 — Produce v0 (magic 0), Fetch v0, ListOffsets v0.
	def := sarama.NewConfig()
	if def.Version != sarama.V0_8_2_0 {
		fail("sarama's default version is %v, not 0.8.2", def.Version)
	}
	offs := produce(broker, topic, sarama.NewConfig(), 10, "default")
	for i, o := range offs {
		if o != int64(i) {
			fail("default producer: offsets %v", offs)
		}
	}
	got := consume(broker, topic, sarama.NewConfig(), sarama.OffsetOldest, 10)
	for i, m := range got {
		if m.Offset != int64(i) || string(m.Key) != fmt.Sprintf("default-%d", i) || string(m.Value) != fmt.Sprintf("value-%d", i) {
			fail("default consumer: message %d is %d %q %q", i, m.Offset, m.Key, m.Value)
		}
	}
	fmt.Println("ok default producer and consumer (Produce v0, Fetch v0)")

	// Every codec, in message format v0 (0.8.2) and v1 (0.10.0).
	next := int64(10)
	for _, v := range []sarama.KafkaVersion{sarama.V0_8_2_0, sarama.V0_10_0_0} {
		for _, codec := range []sarama.CompressionCodec{sarama.CompressionGZIP, sarama.CompressionSnappy, sarama.CompressionLZ4} {
			if codec == sarama.CompressionLZ4 && v == sarama.V0_8_2_0 {
				continue // sarama refuses LZ4 before 0.10
			}
			cfg := sarama.NewConfig()
			cfg.Version = v
			cfg.Producer.Compression = codec
			tag := fmt.Sprintf("%v-%v", v, codec)
			offs := produce(broker, topic, cfg, 5, tag)
			if offs[0] != next {
				fail("%s: first offset %d, expected %d", tag, offs[0], next)
			}
			rc := sarama.NewConfig()
			rc.Version = v
			msgs := consume(broker, topic, rc, next, 5)
			for i, m := range msgs {
				if string(m.Key) != fmt.Sprintf("%s-%d", tag, i) {
					fail("%s: message %d has key %q", tag, i, m.Key)
				}
				if v == sarama.V0_10_0_0 && m.Timestamp.IsZero() {
					fail("%s: no timestamp in message format v1", tag)
				}
			}
			next += 5
		}
	}
	fmt.Println("ok gzip, snappy and lz4 in message formats v0 and v1")

	// Offsets: OffsetCommit v1 / OffsetFetch v1 (0.8.2 defaults) through the offset manager.
	client, err := sarama.NewClient([]string{broker}, sarama.NewConfig())
	check(err, "client")
	newest, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	check(err, "ListOffsets v0")
	if newest != next {
		fail("newest offset %d, expected %d", newest, next)
	}
	om, err := sarama.NewOffsetManagerFromClient("sarama-group", client)
	check(err, "offset manager")
	pom, err := om.ManagePartition(topic, 0)
	check(err, "manage partition")
	pom.MarkOffset(7, "meta")
	check(pom.Close(), "commit")
	check(om.Close(), "offset manager close")
	om2, err := sarama.NewOffsetManagerFromClient("sarama-group", client)
	check(err, "offset manager 2")
	pom2, err := om2.ManagePartition(topic, 0)
	check(err, "manage partition 2")
	if off, meta := pom2.NextOffset(); off != 7 || meta != "meta" {
		fail("committed offset read back as %d %q", off, meta)
	}
	pom2.Close()
	om2.Close()
	client.Close()
	fmt.Println("ok OffsetCommit v1 and OffsetFetch v1 (committed 7, read back)")

	// The admin of Kafka 1.0: CreateTopics v0? (v2 at 1.0), ListTopics with DescribeConfigs v0, DeleteTopics.
	acfg := sarama.NewConfig()
	acfg.Version = sarama.V0_11_0_0
	admin, err := sarama.NewClusterAdmin([]string{broker}, acfg)
	check(err, "cluster admin")
	created := topic + "-admin"
	check(admin.CreateTopic(created, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": stringp("86400000")}}, false), "CreateTopics")
	var topics map[string]sarama.TopicDetail
	for i := 0; i < 50; i++ {
		topics, err = admin.ListTopics()
		check(err, "ListTopics (Metadata + DescribeConfigs v0)")
		if _, ok := topics[created]; ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	d, ok := topics[created]
	if !ok || d.NumPartitions != 2 || d.ConfigEntries["retention.ms"] == nil || *d.ConfigEntries["retention.ms"] != "86400000" {
		fail("ListTopics: %s is %+v", created, d)
	}
	check(admin.DeleteTopic(created), "DeleteTopics")
	check(admin.Close(), "admin close")
	fmt.Println("ok CreateTopics, ListTopics with DescribeConfigs v0, DeleteTopics")

	group(broker, topic, next)
}

func stringp(s string) *string { return &s }

type handler struct{ got chan *sarama.ConsumerMessage }

func (handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.got <- m
		s.MarkMessage(m, "")
	}
	return nil
}

// group consumes the whole topic in a consumer group of Kafka 0.10.2 (JoinGroup v1,
// SyncGroup v0, Heartbeat v0, Fetch v3, OffsetCommit v2) and checks the committed offset.
func group(broker, topic string, total int64) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V0_10_2_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	g, err := sarama.NewConsumerGroup([]string{broker}, "sarama-cg", cfg)
	check(err, "consumer group")
	h := handler{got: make(chan *sarama.ConsumerMessage, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, h); err != nil {
				fmt.Printf("FAIL consume in a group: %v\n", err)
				os.Exit(1)
			}
		}
	}()
	seen := int64(0)
	timeout := time.After(60 * time.Second)
	for seen < total {
		select {
		case m := <-h.got:
			if m.Offset != seen {
				fail("group consumer: offset %d where %d was next", m.Offset, seen)
			}
			seen++
		case <-timeout:
			fail("group consumer: %d of %d messages", seen, total)
		}
	}
	time.Sleep(300 * time.Millisecond) // one commit interval
	cancel()
	<-done
	check(g.Close(), "consumer group close")
	client, err := sarama.NewClient([]string{broker}, cfg)
	check(err, "client")
	om, err := sarama.NewOffsetManagerFromClient("sarama-cg", client)
	check(err, "offset manager")
	pom, err := om.ManagePartition(topic, 0)
	check(err, "manage partition")
	if off, _ := pom.NextOffset(); off != total {
		fail("group committed %d, expected %d", off, total)
	}
	pom.Close()
	om.Close()
	client.Close()
	fmt.Printf("ok consumer group of 0.10.2 consumed %d and committed them\n", total)
}
