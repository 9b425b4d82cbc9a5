package wallet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"go.etcd.io/bbolt"
)

// The wallet keeps everything under one top-level bucket of the node's
// database so that it can never collide with another subsystem.
var (
	rootBucket = []byte("wallet")

	metaBucket    = []byte("meta")    // see meta keys below
	scriptsBucket = []byte("scripts") // pkScript -> branch(1) | index(4)
	txsBucket     = []byte("txs")     // txid -> txRecord
	creditsBucket = []byte("credits") // outpoint -> credit
	spendsBucket  = []byte("spends")  // outpoint -> txid of the wallet tx spending it
	leasesBucket  = []byte("leases")  // outpoint -> expiry (unix nanoseconds)
	blocksBucket  = []byte("blocks")  // height -> blockRecord

	keyVersion  = []byte("version")
	keyTip      = []byte("tip")     // hash(32) | height(4)
	keySeedID   = []byte("seed-id") // hash160 of the master public key
	keyTxSeq    = []byte("tx-seq")  // next txRecord.seq
	keyAddrNext = []byte("addr/")   // + branch(1) -> next index(4)
	keyFamNext  = []byte("family/") // + family(4) -> next index(4)

	allBuckets = [][]byte{metaBucket, scriptsBucket, txsBucket, creditsBucket,
		spendsBucket, leasesBucket, blocksBucket}
)

const storeVersion = 1

// unconfirmedHeight marks a transaction or credit that is not in any block.
const unconfirmedHeight int32 = -1

// errCorrupt reports a record that cannot be decoded. It means the database
// was damaged or written by an incompatible version; the wallet refuses to
// guess.
var errCorrupt = errors.New("corrupt wallet record")

// buckets are the wallet's sub-buckets inside one bbolt transaction.
type buckets struct {
	meta, scripts, txs, credits, spends, leases, blocks *bbolt.Bucket
}

func openBuckets(tx *bbolt.Tx) (*buckets, error) {
	root := tx.Bucket(rootBucket)
	if root == nil {
		return nil, errors.New("wallet bucket missing")
	}
	b := &buckets{
		meta:    root.Bucket(metaBucket),
		scripts: root.Bucket(scriptsBucket),
		txs:     root.Bucket(txsBucket),
		credits: root.Bucket(creditsBucket),
		spends:  root.Bucket(spendsBucket),
		leases:  root.Bucket(leasesBucket),
		blocks:  root.Bucket(blocksBucket),
	}
	if b.meta == nil || b.scripts == nil || b.txs == nil || b.credits == nil ||
		b.spends == nil || b.leases == nil || b.blocks == nil {
		return nil, errors.New("wallet sub-bucket missing")
	}
	return b, nil
}

func createBuckets(tx *bbolt.Tx) error {
	root, err := tx.CreateBucketIfNotExists(rootBucket)
	if err != nil {
		return err
	}
	for _, name := range allBuckets {
		if _, err := root.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func outpointKey(op wire.OutPoint) []byte {
	k := make([]byte, 36)
	copy(k, op.Hash[:])
	binary.BigEndian.PutUint32(k[32:], op.Index)
	return k
}

func outpointFromKey(k []byte) (wire.OutPoint, error) {
	var op wire.OutPoint
	if len(k) != 36 {
		return op, fmt.Errorf("%w: outpoint key of %d bytes", errCorrupt, len(k))
	}
	copy(op.Hash[:], k[:32])
	op.Index = binary.BigEndian.Uint32(k[32:])
	return op, nil
}

func heightKey(h int32) []byte {
	k := make([]byte, 4)
	binary.BigEndian.PutUint32(k, uint32(h))
	return k
}

func getUint32(b *bbolt.Bucket, key []byte) uint32 {
	v := b.Get(key)
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

func putUint32(b *bbolt.Bucket, key []byte, n uint32) error {
	v := make([]byte, 4)
	binary.BigEndian.PutUint32(v, n)
	return b.Put(key, v)
}

// chainTip is the last block whose effects the wallet has applied.
type chainTip struct {
	Hash   chainhash.Hash
	Height int32
}

func readTip(b *buckets) (chainTip, error) {
	v := b.meta.Get(keyTip)
	if len(v) != 36 {
		return chainTip{}, fmt.Errorf("%w: tip of %d bytes", errCorrupt, len(v))
	}
	var t chainTip
	copy(t.Hash[:], v[:32])
	t.Height = int32(binary.BigEndian.Uint32(v[32:]))
	return t, nil
}

func writeTip(b *buckets, t chainTip) error {
	v := make([]byte, 36)
	copy(v, t.Hash[:])
	binary.BigEndian.PutUint32(v[32:], uint32(t.Height))
	return b.meta.Put(keyTip, v)
}

// txRecord is a transaction the wallet cares about: it pays one of our
// scripts, spends one of our outputs, or was published by us.
type txRecord struct {
	Ours      bool // published through PublishTransaction: rebroadcast until mined
	Coinbase  bool
	Height    int32          // unconfirmedHeight when not in a block
	Block     chainhash.Hash // zero when unconfirmed
	Seq       uint64         // order of first sight: parents before children
	Tx        *wire.MsgTx
	serialRaw []byte
}

const (
	txFlagOurs     = 1 << 0
	txFlagCoinbase = 1 << 1
)

func (r *txRecord) confirmed() bool { return r.Height != unconfirmedHeight }

func encodeTxRecord(r *txRecord) ([]byte, error) {
	raw := r.serialRaw
	if raw == nil {
		buf := bytes.NewBuffer(make([]byte, 0, r.Tx.SerializeSize()))
		if err := r.Tx.Serialize(buf); err != nil {
			return nil, err
		}
		raw = buf.Bytes()
	}
	v := make([]byte, 1+4+32+8, 1+4+32+8+len(raw))
	var flags byte
	if r.Ours {
		flags |= txFlagOurs
	}
	if r.Coinbase {
		flags |= txFlagCoinbase
	}
	v[0] = flags
	binary.BigEndian.PutUint32(v[1:], uint32(r.Height))
	copy(v[5:], r.Block[:])
	binary.BigEndian.PutUint64(v[37:], r.Seq)
	return append(v, raw...), nil
}

func decodeTxRecord(v []byte) (*txRecord, error) {
	if len(v) < 45 || v[0]&^(txFlagOurs|txFlagCoinbase) != 0 {
		return nil, fmt.Errorf("%w: tx record of %d bytes", errCorrupt, len(v))
	}
	r := &txRecord{
		Ours:     v[0]&txFlagOurs != 0,
		Coinbase: v[0]&txFlagCoinbase != 0,
		Height:   int32(binary.BigEndian.Uint32(v[1:])),
		Seq:      binary.BigEndian.Uint64(v[37:]),
	}
	copy(r.Block[:], v[5:37])
	r.serialRaw = append([]byte(nil), v[45:]...)
	r.Tx = new(wire.MsgTx)
	rd := bytes.NewReader(r.serialRaw)
	if err := r.Tx.Deserialize(rd); err != nil {
		return nil, fmt.Errorf("%w: tx: %v", errCorrupt, err)
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the tx", errCorrupt, rd.Len())
	}
	return r, nil
}

func getTx(b *buckets, txid chainhash.Hash) (*txRecord, error) {
	v := b.txs.Get(txid[:])
	if v == nil {
		return nil, nil
	}
	return decodeTxRecord(v)
}

func putTx(b *buckets, txid chainhash.Hash, r *txRecord) error {
	v, err := encodeTxRecord(r)
	if err != nil {
		return err
	}
	return b.txs.Put(txid[:], v)
}

func nextSeq(b *buckets) (uint64, error) {
	var n uint64
	if v := b.meta.Get(keyTxSeq); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, n+1)
	return n, b.meta.Put(keyTxSeq, v)
}

// credit is an output paying one of our scripts.
type credit struct {
	Amount   btcutil.Amount
	Height   int32 // of the creating transaction; unconfirmedHeight if none
	Coinbase bool
	PkScript []byte
}

func encodeCredit(c *credit) []byte {
	v := make([]byte, 13, 13+len(c.PkScript))
	binary.BigEndian.PutUint64(v, uint64(c.Amount))
	binary.BigEndian.PutUint32(v[8:], uint32(c.Height))
	if c.Coinbase {
		v[12] = 1
	}
	return append(v, c.PkScript...)
}

func decodeCredit(v []byte) (*credit, error) {
	if len(v) < 13 || v[12] > 1 {
		return nil, fmt.Errorf("%w: credit of %d bytes", errCorrupt, len(v))
	}
	return &credit{
		Amount:   btcutil.Amount(binary.BigEndian.Uint64(v)),
		Height:   int32(binary.BigEndian.Uint32(v[8:])),
		Coinbase: v[12] == 1,
		PkScript: append([]byte(nil), v[13:]...),
	}, nil
}

// blockRecord remembers a block the wallet applied: enough to find the fork
// point after a reorganisation and to undo it without the block itself.
type blockRecord struct {
	Hash  chainhash.Hash
	Prev  chainhash.Hash
	Txids []chainhash.Hash // wallet transactions confirmed in it, in block order
}

func encodeBlockRecord(r *blockRecord) []byte {
	v := make([]byte, 64, 64+32*len(r.Txids))
	copy(v, r.Hash[:])
	copy(v[32:], r.Prev[:])
	for _, id := range r.Txids {
		v = append(v, id[:]...)
	}
	return v
}

func decodeBlockRecord(v []byte) (*blockRecord, error) {
	if len(v) < 64 || len(v)%32 != 0 {
		return nil, fmt.Errorf("%w: block record of %d bytes", errCorrupt, len(v))
	}
	r := &blockRecord{}
	copy(r.Hash[:], v[:32])
	copy(r.Prev[:], v[32:64])
	for off := 64; off < len(v); off += 32 {
		var id chainhash.Hash
		copy(id[:], v[off:off+32])
		r.Txids = append(r.Txids, id)
	}
	return r, nil
}

func getBlock(b *buckets, h int32) (*blockRecord, error) {
	v := b.blocks.Get(heightKey(h))
	if v == nil {
		return nil, nil
	}
	return decodeBlockRecord(v)
}
