package rpc

import "context"

// Methods of invoices and payments.
const (
	MethodInvoiceAdd    = "invoice/add"
	MethodInvoiceList   = "invoice/list"
	MethodInvoiceDecode = "invoice/decode"

	MethodPay         = "payment/send"
	MethodPaymentList = "payment/list"
)

// InvoiceAddRequest creates an invoice of AmountMsat (zero: any amount).
type InvoiceAddRequest struct {
	AmountMsat uint64 `json:"amount_msat"`
	Memo       string `json:"memo,omitempty"`
	// ExpirySeconds is how long the invoice is payable; zero means the
	// node's default (one hour).
	ExpirySeconds int64 `json:"expiry_seconds,omitempty"`
}

// InvoiceAddResponse is a new invoice.
type InvoiceAddResponse struct {
	Invoice     string `json:"invoice"`
	PaymentHash string `json:"payment_hash"`
}

// Invoice is one invoice of the node.
type Invoice struct {
	PaymentHash string `json:"payment_hash"`
	AmountMsat  uint64 `json:"amount_msat"`
	Memo        string `json:"memo"`
	// State is "open", "settled", "expired" or "canceled".
	State string `json:"state"`
	// SettledAt is the Unix time of the settlement, zero while unpaid.
	SettledAt      int64  `json:"settled_at"`
	AmountPaidMsat uint64 `json:"amount_paid_msat,omitempty"`
	Invoice        string `json:"invoice,omitempty"`
	Keysend        bool   `json:"keysend,omitempty"`
	CreatedAt      int64  `json:"created_at"`
	ExpiresAt      int64  `json:"expires_at"`
}

// InvoiceListResponse lists the node's invoices, oldest first.
type InvoiceListResponse struct {
	Invoices []Invoice `json:"invoices"`
}

// InvoiceDecodeRequest decodes any BOLT 11 invoice.
type InvoiceDecodeRequest struct {
	Invoice string `json:"invoice"`
}

// RouteHintHop is one hop of an invoice's route hint.
type RouteHintHop struct {
	NodeID                    string `json:"node_id"`
	ShortChannelID            string `json:"short_channel_id"`
	FeeBaseMsat               uint32 `json:"fee_base_msat"`
	FeeProportionalMillionths uint32 `json:"fee_proportional_millionths"`
	CLTVExpiryDelta           uint16 `json:"cltv_expiry_delta"`
}

// InvoiceDecodeResponse is a decoded invoice.
type InvoiceDecodeResponse struct {
	Payee       string `json:"payee"`
	PaymentHash string `json:"payment_hash"`
	// AmountMsat is zero for an invoice of any amount.
	AmountMsat      uint64 `json:"amount_msat"`
	Description     string `json:"description"`
	DescriptionHash string `json:"description_hash,omitempty"`
	// Expiry is in seconds after Timestamp (Unix seconds).
	Expiry             int64            `json:"expiry"`
	Timestamp          int64            `json:"timestamp"`
	MinFinalCLTVExpiry uint64           `json:"min_final_cltv_expiry"`
	RouteHints         [][]RouteHintHop `json:"route_hints"`
	Network            string           `json:"network"`
}

// PayRequest pays an invoice, or a node directly (keysend) when
// KeysendNodeID is set. It waits for the outcome.
type PayRequest struct {
	Invoice string `json:"invoice,omitempty"`
	// AmountMsat is required for an invoice of any amount and for
	// keysend; otherwise it must be zero or the invoice's amount.
	AmountMsat    uint64 `json:"amount_msat,omitempty"`
	KeysendNodeID string `json:"keysend_node_id,omitempty"`
	// MaxFeeMsat caps the routing fee; zero means the node's default.
	MaxFeeMsat *uint64 `json:"max_fee_msat,omitempty"`
	// TimeoutSeconds bounds the retries; zero means the node's default.
	TimeoutSeconds int64 `json:"timeout_seconds,omitempty"`
}

// PayResponse is the outcome of a payment.
type PayResponse struct {
	// Status is "succeeded", "failed" or, if the outcome is not known
	// yet, "in_flight".
	Status        string           `json:"status"`
	PaymentHash   string           `json:"payment_hash"`
	Preimage      string           `json:"preimage,omitempty"`
	AmountMsat    uint64           `json:"amount_msat"`
	FeeMsat       uint64           `json:"fee_msat"`
	Route         []string         `json:"route"`
	Attempts      []PaymentAttempt `json:"attempts"`
	FailureReason string           `json:"failure_reason,omitempty"`
}

// PaymentAttempt is one try of a payment over one route.
type PaymentAttempt struct {
	Status     string   `json:"status"`
	Route      []string `json:"route"`
	AmountMsat uint64   `json:"amount_msat"`
	FeeMsat    uint64   `json:"fee_msat"`
	// Failure describes a failed attempt and FailureSource names the
	// node that reported it.
	Failure       string `json:"failure,omitempty"`
	FailureSource string `json:"failure_source,omitempty"`
}

// Payment is one sent payment.
type Payment struct {
	PaymentHash string `json:"payment_hash"`
	Status      string `json:"status"`
	AmountMsat  uint64 `json:"amount_msat"`
	FeeMsat     uint64 `json:"fee_msat"`
	CreatedAt   int64  `json:"created_at"`
}

// PaymentListResponse lists the sent payments.
type PaymentListResponse struct {
	Payments []Payment `json:"payments"`
}

// InvoiceAdd creates an invoice.
func (c *Client) InvoiceAdd(ctx context.Context, req InvoiceAddRequest) (*InvoiceAddResponse, error) {
	return call[InvoiceAddResponse](ctx, c, MethodInvoiceAdd, req)
}

// InvoiceList lists the node's invoices.
func (c *Client) InvoiceList(ctx context.Context) (*InvoiceListResponse, error) {
	return call[InvoiceListResponse](ctx, c, MethodInvoiceList, Empty{})
}

// InvoiceDecode decodes a BOLT 11 invoice.
func (c *Client) InvoiceDecode(ctx context.Context, inv string) (*InvoiceDecodeResponse, error) {
	return call[InvoiceDecodeResponse](ctx, c, MethodInvoiceDecode, InvoiceDecodeRequest{Invoice: inv})
}

// Pay sends a payment and waits for its outcome.
func (c *Client) Pay(ctx context.Context, req PayRequest) (*PayResponse, error) {
	return call[PayResponse](ctx, c, MethodPay, req)
}

// PaymentList lists the sent payments.
func (c *Client) PaymentList(ctx context.Context) (*PaymentListResponse, error) {
	return call[PaymentListResponse](ctx, c, MethodPaymentList, Empty{})
}
