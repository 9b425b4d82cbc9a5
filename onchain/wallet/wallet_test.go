package wallet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/flash-ln/flash/onchain"
)

func foreignAddr(t testing.TB, tag byte, params *chaincfg.Params) btcutil.Address {
	t.Helper()
	addr, err := btcutil.NewAddressWitnessPubKeyHash(foreignScript(tag)[2:], params)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestReceive(t *testing.T) {
	h := newHarness(t)
	script := h.newScript()
	tx := h.outsidePayment(script, 1_000_000, 250_000)

	h.chain.acceptToMempool(tx)
	h.sync()
	h.wantBalance(Balance{UnconfirmedSat: 1_250_000})

	// The same announcement twice changes nothing.
	h.chain.mu.Lock()
	h.chain.emit(onchain.Event{Kind: onchain.TxAccepted, Tx: btcutil.NewTx(tx)})
	h.chain.mu.Unlock()
	h.sync()
	h.wantBalance(Balance{UnconfirmedSat: 1_250_000})

	h.chain.mine(nil)
	h.sync()
	h.wantBalance(Balance{ConfirmedSat: 1_250_000})

	h.chain.mineEmpty(2)
	h.sync()
	utxos, err := h.w.ListUnspent()
	if err != nil {
		t.Fatal(err)
	}
	if len(utxos) != 2 {
		t.Fatalf("%d utxos, want 2", len(utxos))
	}
	for _, u := range utxos {
		if u.Confirmations != 3 || u.OutPoint.Hash != tx.TxHash() {
			t.Fatalf("utxo %+v, want 3 confirmations of %s", u, tx.TxHash())
		}
	}

	// A payment to an address that is not ours is none of our business.
	h.chain.mineOnly(nil, h.outsidePayment(foreignScript(1), 5000))
	h.sync()
	h.wantBalance(Balance{ConfirmedSat: 1_250_000})
}

func TestCoinbaseMaturity(t *testing.T) {
	h := newHarness(t)
	h.chain.mineOnly(h.newScript())
	h.sync()
	h.wantBalance(Balance{ImmatureSat: 50e8})

	// Mature once a transaction spending it could enter the next block:
	// 100 confirmations on regtest.
	h.chain.mineEmpty(98)
	h.sync()
	h.wantBalance(Balance{ImmatureSat: 50e8})
	_, err := h.w.CreateTransaction([]*wire.TxOut{wire.NewTxOut(1e8, foreignScript(1))},
		onchain.FeePerKwFloor)
	if !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("spend of an immature coinbase: %v, want ErrInsufficientFunds", err)
	}

	h.chain.mineEmpty(1)
	h.sync()
	h.wantBalance(Balance{ConfirmedSat: 50e8})
	if _, err := h.w.CreateTransaction([]*wire.TxOut{wire.NewTxOut(1e8, foreignScript(1))},
		onchain.FeePerKwFloor); err != nil {
		t.Fatal(err)
	}
}

func TestSendExactFee(t *testing.T) {
	// One input, one P2WPKH output: 438 weight units (110 vB) without
	// change, 562 (141 vB) with.
	tests := []struct {
		name       string
		coins      []btcutil.Amount
		amount     btcutil.Amount
		rate       onchain.FeeRate
		wantInputs int
		wantChange bool
		wantFee    btcutil.Amount // 0: only check accounting
	}{
		{"one input with change", []btcutil.Amount{1_000_000}, 300_000, 250, 1, true, 141},
		{"largest coin first", []btcutil.Amount{200_000, 900_000, 300_000}, 500_000, 250, 1, true, 141},
		{"two inputs", []btcutil.Amount{300_000, 200_000}, 400_000, 250, 2, true, 0},
		{"exact, no change", []btcutil.Amount{100_000}, 100_000 - 110, 250, 1, false, 110},
		{"dust change goes to fee", []btcutil.Amount{100_000}, 100_000 - 141 - 100, 250, 1, false, 241},
		{"high fee rate", []btcutil.Amount{1_000_000, 1_000_000}, 1_500_000, 25_000, 2, true, 0},
		{"many small coins", []btcutil.Amount{10_000, 10_000, 10_000, 10_000, 10_000}, 49_000, 500, 5, false, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.fund(tc.coins...)
			before := h.balance()

			to := foreignAddr(t, 7, h.chain.params)
			tx, err := h.w.SendToAddress(context.Background(), to, tc.amount, tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			var in btcutil.Amount
			for _, txIn := range tx.TxIn {
				in += h.prevAmount(txIn.PreviousOutPoint)
			}
			fee := in - sumOut(tx)
			if len(tx.TxIn) != tc.wantInputs {
				t.Errorf("%d inputs, want %d", len(tx.TxIn), tc.wantInputs)
			}
			if got := len(tx.TxOut) == 2; got != tc.wantChange {
				t.Errorf("change output: %v, want %v", got, tc.wantChange)
			}
			if tc.wantFee != 0 && fee != tc.wantFee {
				t.Errorf("fee %d, want %d", fee, tc.wantFee)
			}
			vsize := (txWeight(tx) + 3) / 4
			if min := tc.rate.FeeForVSize(vsize); fee < min {
				t.Errorf("fee %d below %d for %d vB at %d sat/kw", fee, min, vsize, tc.rate)
			}
			if tx.TxOut[0].Value != int64(tc.amount) {
				t.Errorf("pays %d, want %d", tx.TxOut[0].Value, tc.amount)
			}

			// Before mining: inputs spent, change unconfirmed.
			h.sync()
			mid := h.balance()
			if mid.ConfirmedSat+mid.UnconfirmedSat != before.ConfirmedSat-tc.amount-fee ||
				mid.LockedSat != 0 {
				t.Errorf("after publish %+v; before %+v, amount %d, fee %d", mid, before,
					tc.amount, fee)
			}

			h.chain.mine(nil)
			h.sync()
			h.wantBalance(Balance{ConfirmedSat: before.ConfirmedSat - tc.amount - fee})
		})
	}
}

// prevAmount is the value of a wallet output, spent or not.
func (h *harness) prevAmount(op wire.OutPoint) btcutil.Amount {
	h.t.Helper()
	for _, hash := range h.chain.main {
		blk, _ := h.chain.BlockByHash(hash)
		for _, tx := range blk.Transactions() {
			if *tx.Hash() == op.Hash {
				return btcutil.Amount(tx.MsgTx().TxOut[op.Index].Value)
			}
		}
	}
	h.t.Fatalf("no output %v", op)
	return 0
}

func TestSendBadInput(t *testing.T) {
	h := newHarness(t)
	h.fund(100_000, 50_000)
	before := h.balance()
	regtestAddr := foreignAddr(t, 7, h.chain.params)

	tests := []struct {
		name    string
		addr    btcutil.Address
		amount  btcutil.Amount
		rate    onchain.FeeRate
		wantErr error
		wantMsg string
	}{
		{"above balance", regtestAddr, 200_000, 250, ErrInsufficientFunds, "need 200"},
		{"whole balance leaves no fee", regtestAddr, 150_000, 250, ErrInsufficientFunds, "have 150000 sat"},
		{"zero", regtestAddr, 0, 250, ErrInvalidAmount, ""},
		{"negative", regtestAddr, -5, 250, ErrInvalidAmount, ""},
		{"dust", regtestAddr, 293, 250, ErrDustAmount, ""},
		{"fee rate below floor", regtestAddr, 10_000, 249, ErrFeeRateTooLow, ""},
		{"fee rate above sanity limit", regtestAddr, 10_000, MaxFeeRate + 1, ErrFeeRateTooHigh, ""},
		{"other network", foreignAddr(t, 7, &chaincfg.MainNetParams), 10_000, 250, nil, "not for"},
		{"no address", nil, 10_000, 250, nil, "not for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := h.w.SendToAddress(context.Background(), tc.addr, tc.amount, tc.rate)
			if err == nil || tx != nil {
				t.Fatalf("got tx %v, err %v", tx, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err %q does not say %q", err, tc.wantMsg)
			}
			h.wantBalance(before)
		})
	}
	if len(h.chain.sent) != 0 {
		t.Fatalf("%d transactions broadcast", len(h.chain.sent))
	}

	var ife *InsufficientFundsError
	_, err := h.w.CreateTransaction([]*wire.TxOut{wire.NewTxOut(1e6, foreignScript(1))}, 250)
	if !errors.As(err, &ife) || ife.Have != 150_000 || ife.Need <= 1e6 {
		t.Fatalf("err %v, want need > 1000000 and have 150000", err)
	}
	for _, outs := range [][]*wire.TxOut{nil, {nil}, {wire.NewTxOut(1000, nil)},
		{wire.NewTxOut(btcutil.MaxSatoshi, foreignScript(1)), wire.NewTxOut(btcutil.MaxSatoshi, foreignScript(1))}} {
		if _, err := h.w.CreateTransaction(outs, 250); err == nil {
			t.Fatalf("outputs %v accepted", outs)
		}
	}
	h.wantBalance(before)
}

func TestLeases(t *testing.T) {
	h := newHarness(t)
	h.fund(100_000, 60_000)
	outs := []*wire.TxOut{wire.NewTxOut(50_000, foreignScript(1))}

	a, err := h.w.CreateTransaction(outs, 250)
	if err != nil {
		t.Fatal(err)
	}
	h.wantBalance(Balance{ConfirmedSat: 60_000, LockedSat: 100_000})

	// The second transaction cannot take the leased coin.
	b, err := h.w.CreateTransaction(outs, 250)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tx.TxIn[0].PreviousOutPoint == b.Tx.TxIn[0].PreviousOutPoint {
		t.Fatal("both transactions spend the same coin")
	}
	h.wantBalance(Balance{LockedSat: 160_000})
	if _, err := h.w.CreateTransaction(outs, 250); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("third transaction: %v, want ErrInsufficientFunds", err)
	}

	if err := h.w.ReleaseTransaction(b.Tx); err != nil {
		t.Fatal(err)
	}
	h.wantBalance(Balance{ConfirmedSat: 60_000, LockedSat: 100_000})

	// Leases are stored: they survive a restart.
	h.restart()
	h.wantBalance(Balance{ConfirmedSat: 60_000, LockedSat: 100_000})

	// ...and expire.
	h.now.Add(int64(DefaultLeaseDuration) + 1)
	h.wantBalance(Balance{ConfirmedSat: 160_000})

	// Publishing turns the lease into a spend.
	c, err := h.w.CreateTransaction(outs, 250)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.w.PublishTransaction(c.Tx); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.wantBalance(Balance{ConfirmedSat: 60_000, UnconfirmedSat: 100_000 - 50_000 - c.Fee})
	if c.ChangeIndex != 1 {
		t.Fatalf("change index %d, want 1", c.ChangeIndex)
	}
}

func TestPublishRefused(t *testing.T) {
	h := newHarness(t)
	h.fund(100_000)
	h.chain.refuse = &onchain.TxRejectError{Reason: "test refusal"}
	tx, err := h.w.SendToAddress(context.Background(), foreignAddr(t, 1, h.chain.params), 10_000, 250)
	var rej *onchain.TxRejectError
	if tx != nil || !errors.As(err, &rej) {
		t.Fatalf("tx %v, err %v; want a TxRejectError", tx, err)
	}
	h.wantBalance(Balance{ConfirmedSat: 100_000})

	// Publishing a transaction conflicting with one of ours is refused
	// before it reaches the network.
	h.chain.refuse = nil
	a, err := h.w.CreateTransaction([]*wire.TxOut{wire.NewTxOut(10_000, foreignScript(1))}, 250)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.w.PublishTransaction(a.Tx); err != nil {
		t.Fatal(err)
	}
	conflict := a.Tx.Copy()
	conflict.TxOut[0].Value--
	if err := h.w.PublishTransaction(conflict); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting publish: %v, want ErrConflict", err)
	}
	// Publishing the same transaction again is harmless.
	h.sync()
	if err := h.w.PublishTransaction(a.Tx); err != nil {
		t.Fatal(err)
	}
	h.wantBalance(Balance{UnconfirmedSat: 100_000 - 10_000 - a.Fee})
}

func TestRebroadcastAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.fund(100_000)
	h.chain.refuse = errors.New("connection refused")
	tx, err := h.w.SendToAddress(context.Background(), foreignAddr(t, 1, h.chain.params), 10_000, 250)
	if tx == nil || err == nil {
		t.Fatalf("tx %v, err %v; want both", tx, err)
	}
	// Kept as ours: a second send must not reuse its inputs.
	if _, err := h.w.SendToAddress(context.Background(), foreignAddr(t, 1, h.chain.params),
		10_000, 250); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("second send: %v, want ErrInsufficientFunds", err)
	}
	change := btcutil.Amount(tx.TxOut[1].Value)
	h.wantBalance(Balance{UnconfirmedSat: change})

	h.chain.refuse = nil
	h.restart()
	if len(h.chain.MempoolTxs()) != 1 || *h.chain.MempoolTxs()[0].Hash() != tx.TxHash() {
		t.Fatal("transaction not rebroadcast at start")
	}
	h.chain.mine(nil)
	h.sync()
	h.wantBalance(Balance{ConfirmedSat: change})
}

// A payment from a third party that is double-spent by a confirmed
// transaction disappears, and so does our own transaction whose input a
// confirmed transaction spends.
func TestConflictConfirmed(t *testing.T) {
	h := newHarness(t)
	h.fund(100_000)

	incoming := h.outsidePayment(h.newScript(), 30_000)
	h.chain.acceptToMempool(incoming)
	a, err := h.w.CreateTransaction([]*wire.TxOut{wire.NewTxOut(10_000, foreignScript(1))}, 250)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.w.PublishTransaction(a.Tx); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.wantBalance(Balance{UnconfirmedSat: 30_000 + 90_000 - a.Fee})

	doubleIn := incoming.Copy()
	doubleIn.TxOut[0].PkScript = foreignScript(2)
	// Our coin spent elsewhere (the same seed used on another node, say).
	doubleOurs := a.Tx.Copy()
	doubleOurs.TxOut = []*wire.TxOut{wire.NewTxOut(99_000, foreignScript(3))}
	h.chain.mineOnly(nil, doubleIn, doubleOurs)
	h.sync()
	h.wantBalance(Balance{})
	utxos, err := h.w.ListUnspent()
	if err != nil || len(utxos) != 0 {
		t.Fatalf("utxos %v, err %v", utxos, err)
	}
}

func TestDoubleStart(t *testing.T) {
	h := newHarness(t)
	if err := h.w.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	if err := h.w.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := h.w.Stop(); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.fund(1000)
	h.wantBalance(Balance{ConfirmedSat: 1000})
}

func TestChangeIsOurs(t *testing.T) {
	h := newHarness(t)
	h.fund(100_000)
	a, err := h.w.CreateTransaction([]*wire.TxOut{wire.NewTxOut(10_000, foreignScript(1))}, 250)
	if err != nil {
		t.Fatal(err)
	}
	class, addrs, _, err := txscript.ExtractPkScriptAddrs(a.Tx.TxOut[a.ChangeIndex].PkScript, h.chain.params)
	if err != nil || class != txscript.WitnessV0PubKeyHashTy || len(addrs) != 1 {
		t.Fatalf("change script class %v, err %v", class, err)
	}
	// External and change addresses never collide.
	ext, err := h.w.NewAddress()
	if err != nil {
		t.Fatal(err)
	}
	if ext.EncodeAddress() == addrs[0].EncodeAddress() {
		t.Fatal("change address equals an external address")
	}
}

// TestConcurrentSends: concurrent callers never get the same coin, while
// blocks keep arriving.
func TestConcurrentSends(t *testing.T) {
	h := newHarness(t)
	coins := make([]btcutil.Amount, 16)
	for i := range coins {
		coins[i] = 100_000
	}
	h.fund(coins...)
	var (
		mu    sync.Mutex
		spent = make(map[wire.OutPoint]bool)
		wg    sync.WaitGroup
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				tx, err := h.w.SendToAddress(context.Background(),
					foreignAddr(t, byte(g), h.chain.params), 50_000, 250)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, in := range tx.TxIn {
					if spent[in.PreviousOutPoint] {
						t.Errorf("coin %v spent twice", in.PreviousOutPoint)
					}
					spent[in.PreviousOutPoint] = true
				}
				mu.Unlock()
			}
		}()
	}
	for range 5 {
		h.chain.mineOnly(nil)
	}
	wg.Wait()
	h.chain.mine(nil)
	h.sync()
	bal := h.balance()
	if bal.UnconfirmedSat != 0 || bal.LockedSat != 0 || len(spent) != 16 {
		t.Fatalf("balance %+v after spending %d coins", bal, len(spent))
	}
}
