package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPaymentCommandErrors checks that bad arguments of the invoice and
// payment commands are refused before any call to the node.
func TestPaymentCommandErrors(t *testing.T) {
	t.Setenv(envTestnetDir, t.TempDir())
	empty := t.TempDir()
	d := []string{"--json", "--datadir", empty}
	tests := []struct {
		name     string
		args     []string
		wantCode string
		wantMsg  string
	}{
		{"invoice amount", []string{"invoice", "add", "lots"}, "invalid_argument", "whole number"},
		{"invoice negative", []string{"invoice", "add", "-1"}, "invalid_argument", "negative"},
		{"invoice too big", []string{"invoice", "add", "2100000000000001"}, "invalid_argument", "whole number"},
		{"invoice msat", []string{"invoice", "add", "1", "--msat", "1000"}, "invalid_argument", "--msat"},
		{"invoice expiry fraction", []string{"invoice", "add", "1", "--expiry", "1500ms"}, "invalid_argument", "--expiry"},
		{"invoice expiry long", []string{"invoice", "add", "1", "--expiry", "9000h"}, "invalid_argument", "--expiry"},
		{"invoice args", []string{"invoice", "add"}, "invalid_argument", "arg"},
		{"decode empty", []string{"invoice", "decode", " "}, "invalid_argument", "empty"},
		{"decode no daemon", []string{"invoice", "decode", "lnbcrt1x"}, "unavailable", "no daemon running"},
		{"pay args", []string{"pay"}, "invalid_argument", "INVOICE"},
		{"pay two args", []string{"pay", "a", "b"}, "invalid_argument", "INVOICE"},
		{"pay negative amount", []string{"pay", "lnbcrt1x", "--amount-msat", "-1"}, "invalid_argument", "negative"},
		{"pay fee", []string{"pay", "lnbcrt1x", "--max-fee-sat", "-1"}, "invalid_argument", "--max-fee-sat"},
		{"pay timeout", []string{"pay", "lnbcrt1x", "--timeout", "1ms"}, "invalid_argument", "--timeout"},
		{"keysend args", []string{"pay", "--keysend", "02ab"}, "invalid_argument", "NODE_ID AMOUNT_SAT"},
		{"keysend amount", []string{"pay", "--keysend", "02ab", "zero"}, "invalid_argument", "not a whole number"},
		{"keysend amount msat", []string{"pay", "--keysend", "02ab", "5", "--amount-msat", "5"}, "invalid_argument", "--amount-msat"},
		{"payment unknown", []string{"payment", "steal"}, "invalid_argument", "unknown command"},
		{"payment list no daemon", []string{"payment", "list"}, "unavailable", "no daemon running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, append(append([]string{}, d...), tc.args...)...)
			if code == 0 {
				t.Fatalf("exit 0; stdout %q", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.wantMsg) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr, tc.wantMsg)
			}
			var doc struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.Error.Code != tc.wantCode {
				t.Errorf("stdout %q: want error code %s (%v)", stdout, tc.wantCode, err)
			}
		})
	}
}
