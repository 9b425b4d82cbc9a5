package lnwire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestAddressRoundTrip(t *testing.T) {
	var onion [torV3Len]byte
	for i := range onion {
		onion[i] = byte(i)
	}
	tests := []struct {
		addr Address
		hex  string
		str  string
	}{
		{Address{Type: AddrIPv4, IP: netip.MustParseAddr("127.0.0.1"), Port: 9735},
			"017f0000012607", "127.0.0.1:9735"},
		{Address{Type: AddrIPv6, IP: netip.MustParseAddr("2001:db8::1"), Port: 9735},
			"0220010db80000000000000000000000012607", "[2001:db8::1]:9735"},
		{Address{Type: AddrHostname, Hostname: "node.example", Port: 1},
			"050c6e6f64652e6578616d706c650001", "node.example:1"},
		{Address{Type: AddrTorV3, TorV3: onion, Port: 80},
			"04000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021220050",
			"aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsaijc.onion:80"},
	}
	for _, tc := range tests {
		b, err := AppendAddress(nil, tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, mustHex(t, tc.hex)) {
			t.Errorf("%v: encoded %x, want %s", tc.addr, b, tc.hex)
		}
		got, n, err := ParseAddress(b)
		if err != nil || n != len(b) || got != tc.addr {
			t.Errorf("%s: parsed %v (%d, %v)", tc.hex, got, n, err)
		}
		if got.String() != tc.str {
			t.Errorf("String = %q, want %q", got.String(), tc.str)
		}
	}
}

func TestAddressErrors(t *testing.T) {
	bad := []string{"", "01", "017f000001", "02" + "00", "05", "0503616263", "0500" + "0001", "0501ff0001"}
	for _, h := range bad {
		if _, _, err := ParseAddress(mustHex(t, h)); !errors.Is(err, ErrBadAddress) {
			t.Errorf("%q: error %v", h, err)
		}
	}
	if _, _, err := ParseAddress([]byte{9, 1, 2}); !errors.Is(err, ErrUnknownAddressType) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := AppendAddress(nil, Address{Type: AddrIPv4, IP: netip.MustParseAddr("::1")}); err == nil {
		t.Error("IPv6 encoded as type 1")
	}
	if _, err := AppendAddress(nil, Address{Type: AddrHostname, Hostname: "bad host"}); err == nil {
		t.Error("hostname with a space encoded")
	}

	// A list stops at an unknown type and skips Tor v2.
	list := mustHex(t, "017f0000012607"+"03"+"00000000000000000000"+"0050"+"09ffff")
	addrs, err := ParseAddresses(list)
	if err != nil || len(addrs) != 1 || addrs[0].Port != 9735 {
		t.Errorf("ParseAddresses = %v, %v", addrs, err)
	}
}

func TestInitRemoteAddress(t *testing.T) {
	m := &Init{}
	if _, ok, err := m.RemoteAddress(); ok || err != nil {
		t.Error("absent remote_addr")
	}
	m.RemoteAddr = mustHex(t, "017f0000012607")
	a, ok, err := m.RemoteAddress()
	if !ok || err != nil || a.String() != "127.0.0.1:9735" {
		t.Errorf("got %v %v %v", a, ok, err)
	}
	m.RemoteAddr = append(m.RemoteAddr, 0)
	if _, ok, err := m.RemoteAddress(); !ok || err == nil {
		t.Error("trailing bytes accepted")
	}
}
