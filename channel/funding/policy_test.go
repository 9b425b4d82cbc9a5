package funding

import (
	"testing"

	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/script"
)

func TestPolicyValidate(t *testing.T) {
	good := DefaultPolicy()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	large := good
	large.LargeChannels, large.MaxChannelSize = true, 1<<30
	if err := large.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tweak := range map[string]func(p *Policy){
		"zero minimum size":        func(p *Policy) { p.MinChannelSize = 0 },
		"maximum below minimum":    func(p *Policy) { p.MaxChannelSize = p.MinChannelSize - 1 },
		"large without the option": func(p *Policy) { p.MaxChannelSize = 1 << 24 },
		"above all bitcoin":        func(p *Policy) { p.LargeChannels, p.MaxChannelSize = true, 21e14+1 },
		"dust below 354":           func(p *Policy) { p.DustLimit = 353 },
		"peer dust below 354":      func(p *Policy) { p.MaxPeerDustLimit = 353 },
		"zero htlcs":               func(p *Policy) { p.MaxAcceptedHTLCs = 0 },
		"484 htlcs":                func(p *Policy) { p.MaxAcceptedHTLCs = 484 },
		"delay above maximum":      func(p *Policy) { p.ToSelfDelay = p.MaxToSelfDelay + 1 },
		"zero depth":               func(p *Policy) { p.MinimumDepth = 0 },
		"depth above maximum":      func(p *Policy) { p.MaxMinimumDepth = p.MinimumDepth - 1 },
		"zero fee ratio":           func(p *Policy) { p.FeeRatio = 0 },
		"fee ceiling below floor":  func(p *Policy) { p.MaxFeePerKw = 252 },
	} {
		p := good
		tweak(&p)
		if err := p.Validate(); !IsCode(err, CodeInternal) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFeeRateBounds(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		fee, estimate uint32
		code          ErrorCode
	}{
		{253, 0, 0},
		{252, 0, CodeFeeTooLow},
		{100_000, 0, 0},
		{100_001, 0, CodeFeeTooHigh},
		{253, 253, 0},
		{2530, 253, 0},
		{2531, 253, CodeFeeTooHigh},
		{999, 10_000, CodeFeeTooLow},
		{1000, 10_000, 0},
		{100_000, 1 << 31, 0}, // the absolute ceiling still applies
		{100_001, 1 << 31, CodeFeeTooHigh},
		{253, 1, 0}, // a silly estimate cannot lower the floor
	} {
		err := p.checkFeeRate(tc.fee, tc.estimate)
		if tc.code == 0 && err != nil || tc.code != 0 && !IsCode(err, tc.code) {
			t.Errorf("fee %d estimate %d: %v", tc.fee, tc.estimate, err)
		}
	}
}

func TestValidShutdownScript(t *testing.T) {
	key := testKey("close").PubKey()
	for _, tc := range []struct {
		s  []byte
		ok bool
	}{
		{script.P2WPKH(key), true},
		{script.P2WSH([]byte{1}), true},
		{append([]byte{0x51, 32}, make([]byte, 32)...), true}, // taproot
		{append([]byte{0x60, 40}, make([]byte, 40)...), true},
		{append([]byte{0x60, 41}, make([]byte, 41)...), false},
		{[]byte{0x51, 0x01, 0x00}, false},
		{append([]byte{0x00, 20}, make([]byte, 19)...), false},
		{nil, false},
	} {
		if validShutdownScript(tc.s) != tc.ok {
			t.Errorf("%x: want %v", tc.s, tc.ok)
		}
	}
}

// TestUpfrontShutdownScript checks that a script committed in open_channel
// binds the funder in both channels.
func TestUpfrontShutdownScript(t *testing.T) {
	alice := newParty(t, "alice")
	op := openerParams(alice)
	op.UpfrontShutdownScript = script.P2WPKH(testKey("cold").PubKey())
	f := runFlow(t, op, func(ap *AcceptParams) {
		ap.UpfrontShutdownScript = script.P2WPKH(testKey("bob cold").PubKey())
	})
	if got := f.chBob.Params().Remote.UpfrontShutdownScript; string(got) != string(op.UpfrontShutdownScript) {
		t.Fatalf("bob does not hold alice's upfront script: %x", got)
	}
	if got := f.chAlice.Params().Local.UpfrontShutdownScript; string(got) != string(op.UpfrontShutdownScript) {
		t.Fatalf("alice forgot her upfront script: %x", got)
	}
	if got := f.chAlice.Params().Remote.UpfrontShutdownScript; len(got) != 22 {
		t.Fatalf("alice does not hold bob's upfront script: %x", got)
	}
	if f.opener.TempChanID() != tempID("alice-bob") || f.accepter.TempChanID() != tempID("alice-bob") {
		t.Fatal("temporary ids")
	}
}

func TestKeysFromKeyring(t *testing.T) {
	kr := testKeyring("carol")
	kr.HTLCBaseSecret = nil
	if _, err := KeysFromKeyring(kr); !IsCode(err, CodeInternal) {
		t.Fatal(err)
	}
	if _, err := KeysFromKeyring(nil); !IsCode(err, CodeInternal) {
		t.Fatal(err)
	}
}

func TestErrorStrings(t *testing.T) {
	e := &Error{Code: CodeInvalidParams, Field: "push_msat", Detail: "too much"}
	if e.Error() != "channel establishment: invalid channel parameter: push_msat: too much" {
		t.Fatal(e.Error())
	}
	if ErrorCode(200).String() != "error code 200" {
		t.Fatal("unknown code")
	}
	w := e.WireError(lnwire.ChannelID{1})
	if string(w.Data) != e.Error() || w.ChannelID != (lnwire.ChannelID{1}) {
		t.Fatal("wire error")
	}
}
