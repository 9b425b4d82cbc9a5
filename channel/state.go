package channel

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/flash-ln/flash/channel/keys"
	"github.com/flash-ln/flash/channel/lnwire"
	"github.com/flash-ln/flash/channel/shachain"
)

// PartyConfig holds what one side announced in open_channel or
// accept_channel. As in BOLT 2, most limits a side announces bind the other
// side: our MaxAcceptedHTLCs caps the HTLCs the peer may offer us, our
// ChannelReserve is what the peer must keep, our ToSelfDelay delays the
// peer's to_local output. Only DustLimit applies to the announcer's own
// commitment transaction.
type PartyConfig struct {
	DustLimit            btcutil.Amount
	MaxHTLCValueInFlight lnwire.MilliSatoshi
	ChannelReserve       btcutil.Amount
	HTLCMinimum          lnwire.MilliSatoshi
	ToSelfDelay          uint16
	MaxAcceptedHTLCs     uint16
	FundingKey           *btcec.PublicKey
	Basepoints           keys.Basepoints
	// UpfrontShutdownScript, when not empty, is the only script the party
	// may close to (option_upfront_shutdown_script).
	UpfrontShutdownScript []byte
}

// ChannelType is the commitment format. Only static_remotekey exists today;
// the field keeps room for anchors.
type ChannelType uint8

// ChannelTypeStaticRemoteKey is option_static_remotekey without anchors.
const ChannelTypeStaticRemoteKey ChannelType = 1

// Params are the parts of a channel fixed at funding time.
type Params struct {
	FundingOutpoint wire.OutPoint
	Capacity        btcutil.Amount
	// LocalFunder is true when we opened the channel and so pay the
	// commitment fee and alone may send update_fee.
	LocalFunder bool
	Type        ChannelType
	Local       PartyConfig
	Remote      PartyConfig
	// MinFeePerKw and MaxFeePerKw bound the update_fee rates we accept.
	MinFeePerKw uint32
	MaxFeePerKw uint32
	// CloseScript is where our balance goes in a cooperative close the
	// peer starts, unless Local.UpfrontShutdownScript is set.
	CloseScript []byte
}

// ChannelID returns the BOLT 2 channel_id of the funding outpoint.
func (p *Params) ChannelID() lnwire.ChannelID { return lnwire.NewChannelID(p.FundingOutpoint) }

// CommitmentSecrets produces our per-commitment secrets (BOLT 3), usually
// a *shachain.Producer.
type CommitmentSecrets interface {
	ForCommitment(n uint64) ([32]byte, error)
}

// Keyring holds our private keys for one channel. It is never persisted with
// the state: the caller derives it from its seed when loading a channel.
type Keyring struct {
	FundingKey           *btcec.PrivateKey
	RevocationBaseSecret *btcec.PrivateKey
	PaymentBaseSecret    *btcec.PrivateKey
	DelayedBaseSecret    *btcec.PrivateKey
	HTLCBaseSecret       *btcec.PrivateKey
	Secrets              CommitmentSecrets
}

// LocalCommitment is our current commitment, with the peer's signatures
// that let us broadcast it and its HTLC transactions.
type LocalCommitment struct {
	Index    uint64
	Spec     CommitmentSpec
	TxID     chainhash.Hash
	Sig      lnwire.Sig
	HTLCSigs []lnwire.Sig // in the order of the HTLC outputs
}

// RemoteCommitment is a commitment of the peer's that we signed.
type RemoteCommitment struct {
	Index uint64
	Spec  CommitmentSpec
	TxID  chainhash.Hash
	// Point is the peer's per-commitment point of this commitment.
	Point *btcec.PublicKey
}

// PendingRemoteCommitment is the peer's next commitment, signed by us and
// not yet answered by its revoke_and_ack.
type PendingRemoteCommitment struct {
	RemoteCommitment
	// SentAfterLocalIndex is our commitment index when we sent the
	// signature. It tells, on reconnection, whether our last
	// revoke_and_ack went out before or after this commitment_signed.
	SentAfterLocalIndex uint64
	Sig                 lnwire.Sig
	HTLCSigs            []lnwire.Sig
}

// Phase is where the channel stands in its life.
type Phase uint8

// The phases. Closing negotiation starts when both shutdowns are exchanged
// and no HTLC or update is pending.
const (
	PhaseNormal Phase = iota + 1
	PhaseShutdown
	PhaseNegotiating
	PhaseClosed
)

// state is everything persisted about a channel. Channel methods work on a
// copy and swap it in only on success, so a rejected input leaves no trace.
type state struct {
	Params Params

	LocalCommit  LocalCommitment
	RemoteCommit RemoteCommitment
	RemoteNext   *PendingRemoteCommitment
	// RemoteNextPoint is the peer's point for RemoteCommit.Index+1; nil
	// until channel_ready.
	RemoteNextPoint *btcec.PublicKey

	LocalChanges  LocalChanges
	RemoteChanges RemoteChanges

	LocalNextHTLCID  uint64
	RemoteNextHTLCID uint64

	// RemoteSecrets are the peer's revealed per-commitment secrets.
	RemoteSecrets *shachain.Store

	Phase Phase
	// Connected is false between a disconnection and the exchange of
	// channel_reestablish; SentReestablish and GotReestablish track that
	// exchange.
	Connected       bool
	SentReestablish bool
	GotReestablish  bool

	Close closeState
}

func (s *state) clone() *state {
	// Slices are shared, never copied: the machine never writes into an
	// element of the state, it only replaces slices or appends to them.
	// Commitment slices are capped, so an append would copy; the update
	// logs are appended to, possibly into capacity shared with the
	// previous state, which is harmless because only one of the two
	// survives the step and neither reads past its own length. The
	// shachain store is updated in place, so it is copied.
	c := *s
	c.LocalCommit.Spec.HTLCs = capped(s.LocalCommit.Spec.HTLCs)
	c.LocalCommit.HTLCSigs = capped(s.LocalCommit.HTLCSigs)
	c.RemoteCommit.Spec.HTLCs = capped(s.RemoteCommit.Spec.HTLCs)
	if s.RemoteNext != nil {
		n := *s.RemoteNext
		n.Spec.HTLCs = capped(n.Spec.HTLCs)
		n.HTLCSigs = capped(n.HTLCSigs)
		c.RemoteNext = &n
	}
	c.LocalChanges = s.LocalChanges.clone()
	c.RemoteChanges = s.RemoteChanges.clone()
	store := *s.RemoteSecrets
	c.RemoteSecrets = &store
	c.Close = s.Close.clone()
	return &c
}

func capped[T any](s []T) []T { return s[:len(s):len(s)] }

// latestRemote is the newest commitment we signed for the peer.
func (s *state) latestRemote() *RemoteCommitment {
	if s.RemoteNext != nil {
		return &s.RemoteNext.RemoteCommitment
	}
	return &s.RemoteCommit
}

// Channel is the state machine of one channel. It does no I/O: methods take
// a command or a peer message and return an Output, whose State must be
// stored before its Messages are sent. A method that returns an error leaves
// the channel exactly as it was. A Channel is not safe for concurrent use.
type Channel struct {
	keys     *Keyring
	st       *state
	obscurer uint64
	cache    derived
}

// Config creates a channel from the outcome of the funding flow.
type Config struct {
	Params  Params
	Keyring *Keyring
	// FeePerKw and the balances are those of commitment number 0.
	FeePerKw      uint32
	LocalBalance  lnwire.MilliSatoshi
	RemoteBalance lnwire.MilliSatoshi
	// RemoteFirstPoint is the peer's first_per_commitment_point;
	// RemoteSecondPoint its channel_ready point, nil if not yet received.
	RemoteFirstPoint  *btcec.PublicKey
	RemoteSecondPoint *btcec.PublicKey
	// RemoteSig is the peer's signature of our commitment 0, from
	// funding_created or funding_signed. New verifies it.
	RemoteSig lnwire.Sig
}

func (cfg *Config) validate() error {
	p := &cfg.Params
	switch {
	case cfg.Keyring == nil || cfg.Keyring.FundingKey == nil || cfg.Keyring.RevocationBaseSecret == nil ||
		cfg.Keyring.PaymentBaseSecret == nil || cfg.Keyring.DelayedBaseSecret == nil ||
		cfg.Keyring.HTLCBaseSecret == nil || cfg.Keyring.Secrets == nil:
		return errors.New("incomplete keyring")
	case p.Local.FundingKey == nil || p.Remote.FundingKey == nil:
		return errors.New("missing funding key")
	case !basepointsComplete(&p.Local.Basepoints) || !basepointsComplete(&p.Remote.Basepoints):
		return errors.New("missing basepoint")
	case cfg.RemoteFirstPoint == nil:
		return errors.New("missing first per-commitment point of the peer")
	case p.Type != ChannelTypeStaticRemoteKey:
		return fmt.Errorf("unsupported channel type %d", p.Type)
	case uint64(cfg.LocalBalance)+uint64(cfg.RemoteBalance) != uint64(p.Capacity)*1000:
		return fmt.Errorf("balances %v + %v do not add up to capacity %v", cfg.LocalBalance, cfg.RemoteBalance, p.Capacity)
	case !p.Local.FundingKey.IsEqual(cfg.Keyring.FundingKey.PubKey()):
		return errors.New("funding key does not match keyring")
	case !p.Local.Basepoints.Revocation.IsEqual(cfg.Keyring.RevocationBaseSecret.PubKey()),
		!p.Local.Basepoints.Payment.IsEqual(cfg.Keyring.PaymentBaseSecret.PubKey()),
		!p.Local.Basepoints.DelayedPayment.IsEqual(cfg.Keyring.DelayedBaseSecret.PubKey()),
		!p.Local.Basepoints.HTLC.IsEqual(cfg.Keyring.HTLCBaseSecret.PubKey()):
		return errors.New("basepoints do not match keyring")
	}
	return nil
}

func basepointsComplete(b *keys.Basepoints) bool {
	return b.Revocation != nil && b.Payment != nil && b.DelayedPayment != nil && b.HTLC != nil
}
