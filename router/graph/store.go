package graph

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/router/gossip"
	"go.etcd.io/bbolt"
)

// The graph's bucket tree:
//
//	graph/
//	  channels/   scid (8)        -> channelRecord
//	  nodes/      node id (33)    -> nodeInfo of an announced node
//	  chan-ann/   scid (8)        -> signed channel_announcement, type included
//	  chan-upd/   scid, dir (9)   -> signed channel_update
//	  node-ann/   node id (33)    -> signed node_announcement
//
// Loading reads only channels/ and nodes/, fixed compact records that need
// no signature check and no curve arithmetic; the signed messages are read
// only to relay them.
var (
	bucketGraph    = []byte("graph")
	bucketChannels = []byte("channels")
	bucketNodes    = []byte("nodes")
	bucketChanAnn  = []byte("chan-ann")
	bucketChanUpd  = []byte("chan-upd")
	bucketNodeAnn  = []byte("node-ann")
)

// ErrCorrupt is returned when a stored record cannot be decoded.
var ErrCorrupt = errors.New("corrupt graph record")

// channelRecord is the stored form of a channel.
type channelRecord struct {
	node1, node2 NodeID
	capacity     int64
	outpoint     wire.OutPoint
	policies     [2]Policy
}

const (
	policySize        = 4 + 4 + 4 + 2 + 1 + 8 + 8
	channelRecordSize = 33 + 33 + 8 + 32 + 4 + 2*policySize
)

func appendPolicy(b []byte, p *Policy) []byte {
	b = binary.BigEndian.AppendUint32(b, p.Timestamp)
	b = binary.BigEndian.AppendUint32(b, p.FeeBaseMsat)
	b = binary.BigEndian.AppendUint32(b, p.FeeRatePPM)
	b = binary.BigEndian.AppendUint16(b, p.CltvExpiryDelta)
	var dis byte
	if p.Disabled {
		dis = 1
	}
	b = append(b, dis)
	b = binary.BigEndian.AppendUint64(b, uint64(p.HTLCMinimumMsat))
	return binary.BigEndian.AppendUint64(b, uint64(p.HTLCMaximumMsat))
}

func readPolicy(b []byte) Policy {
	return Policy{
		Timestamp:       binary.BigEndian.Uint32(b),
		FeeBaseMsat:     binary.BigEndian.Uint32(b[4:]),
		FeeRatePPM:      binary.BigEndian.Uint32(b[8:]),
		CltvExpiryDelta: binary.BigEndian.Uint16(b[12:]),
		Disabled:        b[14] != 0,
		HTLCMinimumMsat: lnwire.MilliSatoshi(binary.BigEndian.Uint64(b[15:])),
		HTLCMaximumMsat: lnwire.MilliSatoshi(binary.BigEndian.Uint64(b[23:])),
	}
}

func (r *channelRecord) encode() []byte {
	b := make([]byte, 0, channelRecordSize)
	b = append(b, r.node1[:]...)
	b = append(b, r.node2[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.capacity))
	b = append(b, r.outpoint.Hash[:]...)
	b = binary.BigEndian.AppendUint32(b, r.outpoint.Index)
	b = appendPolicy(b, &r.policies[0])
	return appendPolicy(b, &r.policies[1])
}

func (r *channelRecord) decode(b []byte) error {
	if len(b) != channelRecordSize {
		return fmt.Errorf("%w: channel record of %d bytes", ErrCorrupt, len(b))
	}
	copy(r.node1[:], b)
	copy(r.node2[:], b[33:])
	r.capacity = int64(binary.BigEndian.Uint64(b[66:]))
	copy(r.outpoint.Hash[:], b[74:])
	r.outpoint.Index = binary.BigEndian.Uint32(b[106:])
	r.policies[0] = readPolicy(b[110:])
	r.policies[1] = readPolicy(b[110+policySize:])
	flagsOK := b[110+14] <= 1 && b[110+policySize+14] <= 1
	if r.node1 == r.node2 || r.capacity < 0 || !flagsOK {
		return fmt.Errorf("%w: channel record", ErrCorrupt)
	}
	return nil
}

func encodeNodeInfo(n *nodeInfo) []byte {
	b := binary.BigEndian.AppendUint32(nil, n.timestamp)
	b = append(b, n.color[:]...)
	b = append(b, byte(len(n.alias)))
	b = append(b, n.alias...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(n.features)))
	b = append(b, n.features...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(n.addresses)))
	return append(b, n.addresses...)
}

func decodeNodeInfo(b []byte) (*nodeInfo, error) {
	n := &nodeInfo{}
	take := func(k int) []byte {
		if len(b) < k {
			b = nil
			return nil
		}
		out := b[:k]
		b = b[k:]
		return out
	}
	h := take(8)
	if h == nil {
		return nil, fmt.Errorf("%w: node record", ErrCorrupt)
	}
	n.timestamp = binary.BigEndian.Uint32(h)
	copy(n.color[:], h[4:7])
	alias := take(int(h[7]))
	fl := take(2)
	if alias == nil && h[7] != 0 || fl == nil {
		return nil, fmt.Errorf("%w: node record", ErrCorrupt)
	}
	n.alias = string(alias)
	n.features = append([]byte{}, take(int(binary.BigEndian.Uint16(fl)))...)
	al := take(2)
	if al == nil {
		return nil, fmt.Errorf("%w: node record", ErrCorrupt)
	}
	addrs := take(int(binary.BigEndian.Uint16(al)))
	if addrs == nil && binary.BigEndian.Uint16(al) != 0 {
		return nil, fmt.Errorf("%w: node record", ErrCorrupt)
	}
	n.addresses = append([]byte{}, addrs...)
	return n, nil
}

func scidKey(scid uint64) []byte { return binary.BigEndian.AppendUint64(nil, scid) }

func updateKey(scid uint64, dir int) []byte { return append(scidKey(scid), byte(dir)) }

// sub returns a sub-bucket of the graph bucket, creating the tree if
// needed in a writable transaction.
func sub(tx *bbolt.Tx, name []byte) (*bbolt.Bucket, error) {
	if !tx.Writable() {
		root := tx.Bucket(bucketGraph)
		if root == nil {
			return nil, nil
		}
		return root.Bucket(name), nil
	}
	root, err := tx.CreateBucketIfNotExists(bucketGraph)
	if err != nil {
		return nil, err
	}
	return root.CreateBucketIfNotExists(name)
}

func putMessage(tx *bbolt.Tx, bucket, key []byte, msg lnwire.Message) error {
	raw, err := lnwire.EncodeMessage(msg)
	if err != nil {
		return err
	}
	b, err := sub(tx, bucket)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

func putRecord(tx *bbolt.Tx, scid uint64, rec *channelRecord) error {
	b, err := sub(tx, bucketChannels)
	if err != nil {
		return err
	}
	return b.Put(scidKey(scid), rec.encode())
}

func putChannel(tx *bbolt.Tx, scid uint64, rec *channelRecord, ann *gossip.ChannelAnnouncement) error {
	if err := putRecord(tx, scid, rec); err != nil {
		return err
	}
	return putMessage(tx, bucketChanAnn, scidKey(scid), ann)
}

func putUpdate(tx *bbolt.Tx, scid uint64, rec *channelRecord, u *gossip.ChannelUpdate) error {
	if err := putRecord(tx, scid, rec); err != nil {
		return err
	}
	return putMessage(tx, bucketChanUpd, updateKey(scid, u.ChannelFlags.Direction()), u)
}

func putNode(tx *bbolt.Tx, id NodeID, info *nodeInfo, a *gossip.NodeAnnouncement) error {
	b, err := sub(tx, bucketNodes)
	if err != nil {
		return err
	}
	if err := b.Put(id[:], encodeNodeInfo(info)); err != nil {
		return err
	}
	return putMessage(tx, bucketNodeAnn, id[:], a)
}

func deleteChannel(tx *bbolt.Tx, scid uint64, orphans []NodeID) error {
	dels := []struct {
		bucket []byte
		key    []byte
	}{
		{bucketChannels, scidKey(scid)},
		{bucketChanAnn, scidKey(scid)},
		{bucketChanUpd, updateKey(scid, 0)},
		{bucketChanUpd, updateKey(scid, 1)},
	}
	for _, id := range orphans {
		dels = append(dels,
			struct{ bucket, key []byte }{bucketNodes, append([]byte{}, id[:]...)},
			struct{ bucket, key []byte }{bucketNodeAnn, append([]byte{}, id[:]...)})
	}
	for _, d := range dels {
		b, err := sub(tx, d.bucket)
		if err != nil {
			return err
		}
		if err := b.Delete(d.key); err != nil {
			return err
		}
	}
	return nil
}

// load fills an empty graph from db.
func (g *Graph) load(db *bbolt.DB) error {
	if err := db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketChannels, bucketNodes, bucketChanAnn, bucketChanUpd, bucketNodeAnn} {
			if _, err := sub(tx, name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return db.View(func(tx *bbolt.Tx) error {
		chans, _ := sub(tx, bucketChannels)
		var rec channelRecord
		err := chans.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("%w: channel key of %d bytes", ErrCorrupt, len(k))
			}
			if err := rec.decode(v); err != nil {
				return fmt.Errorf("channel %v: %w", lnwire.NewShortChanIDFromInt(binary.BigEndian.Uint64(k)), err)
			}
			g.insertChannel(binary.BigEndian.Uint64(k), &rec)
			return nil
		})
		if err != nil {
			return err
		}
		nodes, _ := sub(tx, bucketNodes)
		return nodes.ForEach(func(k, v []byte) error {
			var id NodeID
			if len(k) != len(id) {
				return fmt.Errorf("%w: node key of %d bytes", ErrCorrupt, len(k))
			}
			copy(id[:], k)
			info, err := decodeNodeInfo(v)
			if err != nil {
				return fmt.Errorf("node %v: %w", id, err)
			}
			// A node whose channels are gone was deleted with its
			// last channel; one left over is ignored.
			if ni, ok := g.nodeIdx[id]; ok {
				g.nodes[ni].info = info
			}
			return nil
		})
	})
}

// GossipMessages calls fn with the stored signed messages, type included,
// in an order a peer accepts: each channel_announcement followed by its
// channel_updates, then the node_announcements. With a filter, only
// messages whose timestamp it contains are passed, and an announcement is
// passed when one of its channel's updates is. fn runs inside a read
// transaction and should queue the bytes rather than block; the slice is
// fn's to keep.
func (g *Graph) GossipMessages(filter *gossip.GossipTimestampFilter, fn func(msg []byte) error) error {
	if g.db == nil {
		return errors.New("graph kept in memory has no stored messages")
	}
	in := func(ts uint32) bool { return filter == nil || (ts != 0 && filter.Contains(ts)) }
	return g.db.View(func(tx *bbolt.Tx) error {
		chans, anns, upds := mustSub(tx, bucketChannels), mustSub(tx, bucketChanAnn), mustSub(tx, bucketChanUpd)
		if chans == nil || anns == nil || upds == nil {
			return nil
		}
		var rec channelRecord
		err := chans.ForEach(func(k, v []byte) error {
			if err := rec.decode(v); err != nil {
				return err
			}
			send := [2]bool{in(rec.policies[0].Timestamp), in(rec.policies[1].Timestamp)}
			if filter != nil && !send[0] && !send[1] {
				return nil
			}
			if raw := anns.Get(k); raw != nil {
				if err := fn(append([]byte{}, raw...)); err != nil {
					return err
				}
			}
			for dir := 0; dir < 2; dir++ {
				if !send[dir] {
					continue
				}
				if raw := upds.Get(append(append([]byte{}, k...), byte(dir))); raw != nil {
					if err := fn(append([]byte{}, raw...)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		nodes, nanns := mustSub(tx, bucketNodes), mustSub(tx, bucketNodeAnn)
		if nodes == nil || nanns == nil {
			return nil
		}
		return nodes.ForEach(func(k, v []byte) error {
			if len(v) < 4 || !in(binary.BigEndian.Uint32(v)) {
				return nil
			}
			if raw := nanns.Get(k); raw != nil {
				return fn(append([]byte{}, raw...))
			}
			return nil
		})
	})
}

func mustSub(tx *bbolt.Tx, name []byte) *bbolt.Bucket {
	b, _ := sub(tx, name)
	return b
}
