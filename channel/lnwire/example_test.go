package lnwire_test

import (
	"bytes"
	"fmt"

	"github.com/flash-ln/flash/channel/lnwire"
)

func ExampleReadMessage() {
	var buf bytes.Buffer
	fee := &lnwire.UpdateFee{FeeratePerKw: 2500}
	if _, err := lnwire.WriteMessage(&buf, fee); err != nil {
		panic(err)
	}

	msg, err := lnwire.ReadMessage(&buf)
	if err != nil {
		panic(err)
	}
	switch m := msg.(type) {
	case *lnwire.UpdateFee:
		fmt.Println(m.MsgType(), m.FeeratePerKw)
	case *lnwire.UnknownMessage:
		// BOLT 1: ignore unknown odd messages, fail on even ones.
		fmt.Println("unknown, odd:", m.Type.IsOdd())
	}
	// Output: update_fee 2500
}

func ExampleFeatureVector_UnknownRequired() {
	ours := lnwire.NewFeatureVector(lnwire.DataLossProtect.Optional(),
		lnwire.VarOnionOptin, lnwire.StaticRemoteKey)
	theirs := lnwire.NewFeatureVector(lnwire.VarOnionOptin, 100)
	fmt.Println(theirs.UnknownRequired(ours))
	// Output: [bit100]
}
