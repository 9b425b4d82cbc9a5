package notify_test

import (
	"context"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/flash-ln/flash/onchain/notify"
)

// A consumer waits for a funding transaction to be deep enough, and keeps
// reading NegativeConf so that a reorganisation takes the channel back to
// waiting instead of holding the notifications back.
func ExampleNotifier_RegisterConf() {
	var n *notify.Notifier // started elsewhere with notify.New and Start
	var fundingTxid chainhash.Hash
	var broadcastHeight int32

	waitFunding := func(ctx context.Context) error {
		ev, err := n.RegisterConf(fundingTxid, nil, 3, broadcastHeight)
		if err != nil {
			return err
		}
		defer ev.Cancel()
		for {
			select {
			case conf, ok := <-ev.Confirmed:
				if !ok {
					return fmt.Errorf("notifier stopped")
				}
				fmt.Println("funding deep enough at height", conf.BlockHeight)
				// A real channel would now send channel_ready and
				// go on watching NegativeConf.
				return nil
			case depth, ok := <-ev.NegativeConf:
				if !ok {
					return fmt.Errorf("notifier stopped")
				}
				fmt.Println("funding block reorganised out, depth", depth)
			case missing, ok := <-ev.Updates:
				if !ok {
					return fmt.Errorf("notifier stopped")
				}
				fmt.Println(missing, "confirmations to go")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	_ = waitFunding
}
