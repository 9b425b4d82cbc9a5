package shachain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const vectorDir = "testdata"

type vectors struct {
	Generate []struct {
		Name   string `json:"name"`
		Seed   string `json:"seed"`
		I      uint64 `json:"I"`
		Output string `json:"output"`
	} `json:"generate_from_seed"`
	Storage struct {
		Tests []struct {
			Name    string `json:"name"`
			Inserts []struct {
				I      uint64 `json:"I"`
				Secret string `json:"secret"`
				Output string `json:"output"`
			} `json:"inserts"`
		} `json:"tests"`
	} `json:"storage"`
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, "bolt03-shachain.json"))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	return &v
}

func hex32(t testing.TB, s string) [32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad 32-byte hex %q: %v", s, err)
	}
	var out [32]byte
	copy(out[:], b)
	return out
}

func TestGenerateFromSeed(t *testing.T) {
	v := loadVectors(t)
	if len(v.Generate) != 5 {
		t.Fatalf("got %d generation vectors, want 5", len(v.Generate))
	}
	for _, tc := range v.Generate {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := NewProducer(hex32(t, tc.Seed)).AtIndex(tc.I)
			if err != nil {
				t.Fatal(err)
			}
			if want := hex32(t, tc.Output); got != want {
				t.Fatalf("got %x, want %x", got, want)
			}
		})
	}
}

func TestStoreVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.Storage.Tests) != 9 {
		t.Fatalf("got %d storage sequences, want 9", len(v.Storage.Tests))
	}
	for _, tc := range v.Storage.Tests {
		t.Run(tc.Name, func(t *testing.T) {
			s := NewStore()
			for i, ins := range tc.Inserts {
				before := s.Encode()
				err := s.Insert(ins.I, hex32(t, ins.Secret))
				switch ins.Output {
				case "OK":
					if err != nil {
						t.Fatalf("insert %d: %v", i, err)
					}
					got, err := s.LookUp(ins.I)
					if err != nil || got != hex32(t, ins.Secret) {
						t.Fatalf("lookup %d after insert: %x, %v", ins.I, got, err)
					}
				case "ERROR":
					if !errors.Is(err, ErrInconsistentSecret) {
						t.Fatalf("insert %d: got %v, want ErrInconsistentSecret", i, err)
					}
					if !bytes.Equal(before, s.Encode()) {
						t.Fatal("failed insert changed the store")
					}
				default:
					t.Fatalf("unknown output %q", ins.Output)
				}
			}
		})
	}
}

// TestStoreManySecrets inserts a few thousand consecutive secrets and
// checks that every one of them can be recalled, also after a round trip
// through Encode and Decode.
func TestStoreManySecrets(t *testing.T) {
	const n = 3000
	p := NewProducer([32]byte{7, 7, 7})
	s := NewStore()
	for i := uint64(0); i < n; i++ {
		sec, err := p.ForCommitment(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddNextEntry(sec); err != nil {
			t.Fatalf("commitment %d: %v", i, err)
		}
	}
	dec, err := Decode(s.Encode())
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, st := range []*Store{s, dec} {
		for i := uint64(0); i < n; i++ {
			want, _ := p.ForCommitment(i)
			got, err := st.ForCommitment(i)
			if err != nil || got != want {
				t.Fatalf("commitment %d: got %x, %v", i, got, err)
			}
		}
		if _, err := st.ForCommitment(n); !errors.Is(err, ErrUnknownIndex) {
			t.Fatalf("unreceived commitment: got %v, want ErrUnknownIndex", err)
		}
	}
	if len(s.Encode()) > 9+32*numBuckets {
		t.Fatalf("encoding too long: %d", len(s.Encode()))
	}
}

func TestStoreErrors(t *testing.T) {
	p := NewProducer([32]byte{1})
	s := NewStore()
	first, _ := p.AtIndex(MaxIndex)
	tests := []struct {
		name  string
		index uint64
		want  error
	}{
		{"skips an index", MaxIndex - 1, ErrUnexpectedIndex},
		{"above the maximum", MaxIndex + 1, ErrUnexpectedIndex},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Insert(tc.index, first); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := p.AtIndex(MaxIndex + 1); !errors.Is(err, ErrIndexOutOfRange) {
		t.Fatalf("AtIndex above max: got %v", err)
	}
	if _, err := s.LookUp(MaxIndex); !errors.Is(err, ErrUnknownIndex) {
		t.Fatalf("LookUp on empty store: got %v", err)
	}
	// The last index: a full store refuses more secrets.
	full := &Store{received: MaxIndex}
	if idx, ok := full.NextIndex(); !ok || idx != 0 {
		t.Fatalf("NextIndex = %d, %v; want 0, true", idx, ok)
	}
	full.received = MaxIndex + 1
	if err := full.AddNextEntry(first); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("got %v, want ErrStoreFull", err)
	}
}

func TestExpectedIndexMatchesInsert(t *testing.T) {
	// Against a direct simulation of insertion near the top of the range.
	p := NewProducer([32]byte{9})
	s := NewStore()
	for i := 0; i < 600; i++ {
		sec, _ := p.ForCommitment(uint64(i))
		if err := s.AddNextEntry(sec); err != nil {
			t.Fatal(err)
		}
		last := s.lastIndex()
		for b := 0; b < numBuckets; b++ {
			idx, ok := expectedIndex(b, last)
			if !ok {
				continue
			}
			if s.buckets[b].index != idx {
				t.Fatalf("after %d: bucket %d holds %d, expected %d", i, b, s.buckets[b].index, idx)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	p := NewProducer([32]byte{3})
	s := NewStore()
	for i := uint64(0); i < 10; i++ {
		sec, _ := p.ForCommitment(i)
		if err := s.AddNextEntry(sec); err != nil {
			t.Fatal(err)
		}
	}
	good := s.Encode()
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 1
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", good[:5]},
		{"bad version", append([]byte{1}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(bytes.Clone(good), 0)},
		{"too many received", []byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"corrupted secret", corrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.data); !errors.Is(err, ErrBadEncoding) {
				t.Fatalf("got %v, want ErrBadEncoding", err)
			}
		})
	}
	empty, err := Decode(NewStore().Encode())
	if err != nil || empty.Received() != 0 {
		t.Fatalf("empty store round trip: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	p := NewProducer([32]byte{5})
	s := NewStore()
	f.Add(s.Encode())
	for i := uint64(0); i < 20; i++ {
		sec, _ := p.ForCommitment(i)
		if err := s.AddNextEntry(sec); err != nil {
			f.Fatal(err)
		}
		f.Add(s.Encode())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Decode(data)
		if err != nil {
			return
		}
		if !bytes.Equal(st.Encode(), data) {
			t.Fatalf("re-encoding differs")
		}
		if st.Received() > 0 {
			last := st.lastIndex()
			if _, err := st.LookUp(last); err != nil {
				t.Fatalf("lookup of last received index: %v", err)
			}
		}
	})
}
