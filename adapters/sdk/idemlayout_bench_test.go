//go:build unix

package sdk

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkIdempotencyLayout compares the two ways of storing an event
// with its idempotency record that issue 14 weighed, on a real embedded
// nats-server with each storage type, 16 publishers at once:
//
//   - kv-3-round-trips: today's Publisher (KV get of the key, publish of
//     the event with Nats-Msg-Id, KV put of the key);
//   - atomic-batch: one atomic batch of a marker (Nats-TTL,
//     Nats-Expected-Last-Subject-Sequence: 0) and the event, in one
//     stream, the first message a core publish and the commit a request.
//
// cpu-µs/op is the whole process's CPU (the server is in process) per
// event. It is a probe of the server's cost, not of the Publisher: on a
// single-replica file stream nats-server v2.15.2 stages every atomic
// batch in a file store of its own (a directory, metadata written and
// synced, removed at commit), on the stream's one ingest goroutine, so
// the batch costs about 20 times the three round trips' CPU and caps the
// stream at a few hundred events a second (docs/design.md, issue 14).
func BenchmarkIdempotencyLayout(b *testing.B) {
	storages := []struct {
		name    string
		storage jetstream.StorageType
	}{
		{"file", jetstream.FileStorage},
		{"memory", jetstream.MemoryStorage},
	}
	layouts := []struct {
		name    string
		publish func(p *layoutProbe, key string) error
	}{
		{"kv-3-round-trips", (*layoutProbe).threeRoundTrips},
		{"atomic-batch", (*layoutProbe).atomicBatch},
	}
	for _, st := range storages {
		for _, l := range layouts {
			b.Run(st.name+"/"+l.name, func(b *testing.B) {
				p := newLayoutProbe(b, st.storage)
				var n atomic.Int64
				b.SetParallelism(8) // 16 publishers on 2 cores
				b.ResetTimer()
				cpu0 := processCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := l.publish(p, strconv.FormatInt(n.Add(1), 10)); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// layoutProbe is a server with a stream for events and markers and a
// bucket for keys, laid out like the hub's but under names of its own.
type layoutProbe struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	kv   jetstream.KeyValue
	data []byte
}

func newLayoutProbe(b *testing.B, storage jetstream.StorageType) *layoutProbe {
	b.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: b.TempDir(), NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		b.Fatal("nats-server not ready within 10s")
	}
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "PROBE", Subjects: []string{"probe.events.>", "probe.idem.>"}, Storage: storage,
		AllowAtomicPublish: true, AllowMsgTTL: true, AllowDirect: true, Duplicates: 2 * time.Minute,
	}); err != nil {
		b.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "probe_idem", Storage: storage, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	return &layoutProbe{nc: nc, js: js, kv: kv, data: make([]byte, 600)}
}

// threeRoundTrips is today's Publisher: look up, publish, record.
func (p *layoutProbe) threeRoundTrips(key string) error {
	ctx := context.Background()
	if _, err := p.kv.Get(ctx, "acme."+key); !errors.Is(err, jetstream.ErrKeyNotFound) {
		return errors.New("key " + key + " should not exist yet")
	}
	m := nats.NewMsg("probe.events.acme.order")
	m.Data = p.data
	m.Header.Set("Nats-Msg-Id", "acme:"+key)
	ack, err := p.js.PublishMsg(ctx, m)
	if err != nil {
		return err
	}
	_, err = p.kv.Put(ctx, "acme."+key, []byte(strconv.FormatUint(ack.Sequence, 10)))
	return err
}

// atomicBatch is the one-round-trip design: marker and event in one batch.
func (p *layoutProbe) atomicBatch(key string) error {
	id := "probe-" + key // unique per batch: each key is published once
	marker := nats.NewMsg("probe.idem.acme." + key)
	marker.Header.Set("Nats-Batch-Id", id)
	marker.Header.Set("Nats-Batch-Sequence", "1")
	marker.Header.Set("Nats-TTL", "3600s")
	marker.Header.Set("Nats-Expected-Last-Subject-Sequence", "0")
	if err := p.nc.PublishMsg(marker); err != nil {
		return err
	}
	m := nats.NewMsg("probe.events.acme.order")
	m.Data = p.data
	m.Header.Set("Nats-Msg-Id", "acme:"+key)
	m.Header.Set("Nats-Batch-Id", id)
	m.Header.Set("Nats-Batch-Sequence", "2")
	m.Header.Set("Nats-Batch-Commit", "1")
	_, err := p.js.PublishMsg(context.Background(), m)
	return err
}

// processCPU is the user and system CPU the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
