package invoices

import (
	"errors"
	"testing"
)

// TestGroupCommitIsolatesFailure: when one function of a shared
// transaction fails, only its caller sees the error; the others are
// committed without it.
func TestGroupCommitIsolatesFailure(t *testing.T) {
	h := newHarness(t, nil)
	g := h.reg.commit
	boom := errors.New("boom")
	recs := sampleRecords()
	ops := []*writeOp{
		{fn: func(b *buckets) error { r := recs[0].clone(); r.AddIndex = 0; return b.put(r) }},
		{fn: func(b *buckets) error {
			r := recs[1].clone()
			r.AddIndex = 0
			if err := b.put(r); err != nil {
				return err
			}
			return boom // after writing: the write must be rolled back
		}},
		{fn: func(b *buckets) error { r := recs[2].clone(); r.AddIndex = 0; return b.put(r) }},
	}
	for _, op := range ops {
		op.done = make(chan error, 1)
	}
	// Queue all three as if they had arrived during another commit.
	g.mu.Lock()
	g.queue = ops
	g.running = true
	g.mu.Unlock()
	g.commitQueued()

	for i, want := range []error{nil, boom, nil} {
		if err := <-ops[i].done; !errors.Is(err, want) {
			t.Errorf("op %d: %v, want %v", i, err, want)
		}
	}
	list, err := h.reg.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].PaymentHash != recs[0].PaymentHash || list[1].PaymentHash != recs[2].PaymentHash {
		t.Fatalf("stored %d records: %+v", len(list), list)
	}
	if list[0].AddIndex != 1 || list[1].AddIndex != 2 {
		t.Errorf("add indexes %d, %d: the failed op's index must be rolled back", list[0].AddIndex, list[1].AddIndex)
	}
	g.mu.Lock()
	running := g.running
	g.mu.Unlock()
	if running {
		t.Error("group commit still marked running with an empty queue")
	}
}
