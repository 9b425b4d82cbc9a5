// Package funding implements BOLT 2 "Channel Establishment v1": the
// exchange of open_channel, accept_channel, funding_created, funding_signed
// and channel_ready that turns two peers' parameters and a funding
// transaction into a pair of channel.Channel state machines.
//
// Like package channel it is pure: it opens no sockets, starts no
// goroutines, reads no clock and draws no randomness. The temporary channel
// id, the keys, the fee estimate and the funding transaction (built by the
// wallet) come in as arguments; messages and state to persist go out.
//
// The funder drives an Opener:
//
//	op, open, err := funding.NewOpener(params)       // send open
//	req, err := op.ReceiveAcceptChannel(accept)      // wallet builds req.PkScript/req.Amount
//	created, err := op.FundingCreated(fundingTx, kr) // persist op.Marshal(), send created
//	ch, err := op.ReceiveFundingSigned(signed, kr)   // persist ch + op.Pending(), then broadcast
//
// The fundee answers with an Accepter:
//
//	ac, accept, err := funding.AcceptOpen(params)        // send accept
//	ch, signed, err := ac.ReceiveFundingCreated(created, kr) // persist ch + ac.Pending(), then send signed
//
// Both sides then wait for Pending.MinimumDepth confirmations of the
// funding output (Pending.CheckFundingOutput, Pending.DeepEnough) and send
// ChannelReady; ShortChannelID names the output once it is mined.
//
// # Persistence and crashes
//
// The rule is that nothing leaves the node before the state it commits to
// is durable, and that the funding transaction is never broadcast before
// the funder holds the fundee's signature of its commitment 0:
//
//   - Between open_channel and funding_created nothing needs storing: BOLT 2
//     restarts the establishment on reconnection, and no coin is at stake.
//     The wallet's reservation of the funding inputs is the daemon's to
//     release when the attempt is abandoned.
//   - The funder stores Opener.Marshal(), which carries the funding
//     transaction, before sending funding_created. After a crash in this
//     window the funding transaction has not been broadcast; the daemon must
//     not broadcast it and may release its inputs, because without
//     funding_signed the funds sent to the 2-of-2 output could only be
//     recovered with the fundee's help.
//   - The fundee stores the channel (channel.Channel.Marshal) and
//     Accepter.Pending() before sending funding_signed: once the funder holds
//     that signature it may broadcast, and the fundee must then know the
//     channel. If the funder never broadcasts, the fundee forgets the channel
//     after ForgetAfterBlocks blocks; it has nothing at stake.
//   - The funder stores the channel and Opener.Pending() (which carries the
//     funding transaction) after ReceiveFundingSigned succeeds and only then
//     broadcasts. After a crash it broadcasts again from what it stored;
//     broadcasting the same transaction twice is harmless, and the inputs
//     stay reserved until the channel is closed or the transaction is
//     replaced.
//
// Every refusal is an *Error with a Code for the daemon to branch on; its
// WireError method gives the BOLT 1 error to send for the temporary channel
// id. A method that returns an error leaves its receiver unchanged.
package funding
