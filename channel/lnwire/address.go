package lnwire

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// AddressType is the first byte of a BOLT 7 address descriptor, the form
// node_announcement's addresses and init's remote_addr use.
type AddressType uint8

// The address descriptor types of BOLT 7 "The node_announcement Message".
const (
	AddrIPv4     AddressType = 1
	AddrIPv6     AddressType = 2
	AddrTorV2    AddressType = 3 // deprecated; parsed only to be skipped
	AddrTorV3    AddressType = 4
	AddrHostname AddressType = 5
)

// torV3Len is the size of a Tor v3 service id: public key, checksum, version.
const torV3Len = 35

// ErrUnknownAddressType is returned for a descriptor type BOLT 7 does not
// define. Its length is unknown, so nothing after it can be parsed.
var ErrUnknownAddressType = errors.New("unknown address descriptor type")

// ErrBadAddress is returned for a descriptor of a known type whose content is
// invalid.
var ErrBadAddress = errors.New("invalid address descriptor")

// Address is one BOLT 7 address descriptor.
type Address struct {
	Type AddressType
	// IP is set for AddrIPv4 and AddrIPv6.
	IP netip.Addr
	// TorV3 is the service id (ed25519 key, checksum, version) of an
	// AddrTorV3 address.
	TorV3 [torV3Len]byte
	// Hostname is set for AddrHostname: ASCII only, as BOLT 7 requires
	// (punycode for anything else).
	Hostname string
	Port     uint16
}

// String returns host:port, the Tor address as its .onion name.
func (a Address) String() string {
	port := strconv.Itoa(int(a.Port))
	switch a.Type {
	case AddrIPv4, AddrIPv6:
		return netip.AddrPortFrom(a.IP, a.Port).String()
	case AddrTorV3:
		name := strings.ToLower(base32.StdEncoding.EncodeToString(a.TorV3[:]))
		return name + ".onion:" + port
	case AddrHostname:
		return a.Hostname + ":" + port
	}
	return fmt.Sprintf("address-type-%d", a.Type)
}

// AppendAddress appends the descriptor encoding of a to b.
func AppendAddress(b []byte, a Address) ([]byte, error) {
	switch a.Type {
	case AddrIPv4:
		if !a.IP.Is4() {
			return b, fmt.Errorf("%w: %v is not IPv4", ErrBadAddress, a.IP)
		}
		ip := a.IP.As4()
		b = append(append(b, byte(a.Type)), ip[:]...)
	case AddrIPv6:
		if !a.IP.Is6() || a.IP.Zone() != "" {
			return b, fmt.Errorf("%w: %v is not IPv6", ErrBadAddress, a.IP)
		}
		ip := a.IP.As16()
		b = append(append(b, byte(a.Type)), ip[:]...)
	case AddrTorV3:
		b = append(append(b, byte(a.Type)), a.TorV3[:]...)
	case AddrHostname:
		if err := checkHostname(a.Hostname); err != nil {
			return b, err
		}
		b = append(append(b, byte(a.Type), byte(len(a.Hostname))), a.Hostname...)
	default:
		return b, fmt.Errorf("%w: %d", ErrUnknownAddressType, a.Type)
	}
	return binary.BigEndian.AppendUint16(b, a.Port), nil
}

func checkHostname(h string) error {
	if len(h) == 0 || len(h) > 255 {
		return fmt.Errorf("%w: hostname of %d bytes", ErrBadAddress, len(h))
	}
	for i := 0; i < len(h); i++ {
		if h[i] <= ' ' || h[i] > '~' {
			return fmt.Errorf("%w: hostname byte %#x is not printable ASCII", ErrBadAddress, h[i])
		}
	}
	return nil
}

// ParseAddress decodes the descriptor at the start of b and returns it with
// the number of bytes it used.
func ParseAddress(b []byte) (Address, int, error) {
	if len(b) == 0 {
		return Address{}, 0, fmt.Errorf("%w: empty", ErrBadAddress)
	}
	a := Address{Type: AddressType(b[0])}
	var n int // bytes of address between the type and the port
	switch a.Type {
	case AddrIPv4:
		n = 4
	case AddrIPv6:
		n = 16
	case AddrTorV2:
		n = 10
	case AddrTorV3:
		n = torV3Len
	case AddrHostname:
		if len(b) < 2 {
			return Address{}, 0, fmt.Errorf("%w: truncated hostname length", ErrBadAddress)
		}
		n = 1 + int(b[1])
	default:
		return Address{}, 0, fmt.Errorf("%w: %d", ErrUnknownAddressType, b[0])
	}
	if len(b) < 1+n+2 {
		return Address{}, 0, fmt.Errorf("%w: type %d truncated", ErrBadAddress, a.Type)
	}
	body := b[1 : 1+n]
	a.Port = binary.BigEndian.Uint16(b[1+n:])
	switch a.Type {
	case AddrIPv4:
		a.IP = netip.AddrFrom4([4]byte(body))
	case AddrIPv6:
		a.IP = netip.AddrFrom16([16]byte(body))
	case AddrTorV3:
		copy(a.TorV3[:], body)
	case AddrHostname:
		a.Hostname = string(body[1:])
		if err := checkHostname(a.Hostname); err != nil {
			return Address{}, 0, err
		}
	}
	return a, 1 + n + 2, nil
}

// ParseAddresses decodes a list of descriptors as node_announcement carries
// them. Following BOLT 7, it stops at the first unknown type (whose length
// it cannot know) and returns what came before; deprecated Tor v2 entries
// are skipped.
func ParseAddresses(b []byte) ([]Address, error) {
	var out []Address
	for len(b) > 0 {
		a, n, err := ParseAddress(b)
		if errors.Is(err, ErrUnknownAddressType) {
			break
		}
		if err != nil {
			return nil, err
		}
		if a.Type != AddrTorV2 {
			out = append(out, a)
		}
		b = b[n:]
	}
	return out, nil
}

// RemoteAddress parses init's remote_addr. ok is false when it is absent;
// a malformed one is an error the caller may ignore, as BOLT 1 only allows
// the receiver to use the value, never requires it.
func (m *Init) RemoteAddress() (a Address, ok bool, err error) {
	if m.RemoteAddr == nil {
		return Address{}, false, nil
	}
	a, n, err := ParseAddress(m.RemoteAddr)
	if err == nil && n != len(m.RemoteAddr) {
		err = fmt.Errorf("%w: %d trailing bytes", ErrBadAddress, len(m.RemoteAddr)-n)
	}
	if err != nil {
		return Address{}, true, fmt.Errorf("remote_addr: %w", err)
	}
	return a, true, nil
}
