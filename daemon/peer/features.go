package peer

import (
	"fmt"

	"github.com/flash-ln/flash/channel/lnwire"
)

// DefaultFeatures returns the init features a Flash node advertises. The
// required bits are the ones lnd requires, so that other implementations
// accept us: option_data_loss_protect, var_onion_optin,
// option_static_remotekey, payment_secret and option_channel_type.
func DefaultFeatures() *lnwire.FeatureVector {
	return lnwire.NewFeatureVector(
		lnwire.DataLossProtect.Required(),
		lnwire.VarOnionOptin.Required(),
		lnwire.StaticRemoteKey.Required(),
		lnwire.PaymentSecret.Required(),
		lnwire.ChannelTypeFeature.Required(),
	)
}

// featureDeps lists, for each feature, a feature it depends on (the
// Dependencies column of BOLT 9). BOLT 1 requires closing the connection to a
// peer whose features leave a dependency unset. Dependencies on features the
// specification now assumes (var_onion_optin, option_static_remotekey) are
// left out: peers may stop advertising those.
var featureDeps = []struct{ feature, needs lnwire.FeatureBit }{
	{lnwire.BasicMPP, lnwire.PaymentSecret},
	{lnwire.ZeroConf, lnwire.ScidAlias},
	{lnwire.SimpleClose, lnwire.ShutdownAnySegwit},
}

// checkRemoteFeatures applies BOLT 1's rules for a received init feature
// vector against the features we support (ours): every required bit must be
// one we know, and every dependency must be set.
func checkRemoteFeatures(theirs, ours *lnwire.FeatureVector) error {
	if unknown := theirs.UnknownRequired(ours); len(unknown) > 0 {
		return fmt.Errorf("%w: peer requires unknown features %v",
			ErrIncompatibleFeatures, unknown)
	}
	for _, d := range featureDeps {
		if theirs.HasFeature(d.feature) && !theirs.HasFeature(d.needs) {
			return fmt.Errorf("%w: peer sets %s without %s",
				ErrIncompatibleFeatures, d.feature.Name(), d.needs.Name())
		}
	}
	return nil
}
