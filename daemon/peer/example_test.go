package peer_test

import (
	"context"
	"log"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/daemon/peer"
)

// node is the part of a node that receives peers and their messages.
type node struct{}

func (node) PeerConnected(p *peer.Peer) { log.Printf("peer %s up", p) }

func (node) HandleMessage(p *peer.Peer, msg lnwire.Message) {
	// Hand channel messages to the channel's state machine here.
}

func (node) PeerDisconnected(nodeID *btcec.PublicKey) {}

func Example() {
	key, _ := btcec.NewPrivateKey()
	m, err := peer.New(peer.Config{
		NodeKey:    key,
		ChainHash:  *chaincfg.RegressionNetParams.GenesisHash,
		ListenAddr: "127.0.0.1:0",
		Handler:    node{},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Start(); err != nil {
		log.Fatal(err)
	}
	defer m.Stop()

	// Keep a peer connected across drops and restarts.
	var remote *btcec.PublicKey // from the node's URI
	if remote != nil {
		err := m.Connect(context.Background(), remote, "127.0.0.1:9735", true)
		if err != nil {
			log.Print(err)
		}
	}
}
