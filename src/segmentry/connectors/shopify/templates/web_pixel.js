// segmentry custom pixel: sends a logged-in customer's product and collection views to
// segmentry, for the segment functions storefront.product_viewed / storefront_event.* .
// Made by `segmentry shopify pixel`; paste it in Shopify admin → Settings → Customer events →
// Add custom pixel. See docs/shopify.md ("Storefront events: the web pixel").
// `analytics` and `init` are given by Shopify's pixel sandbox (Web Pixels API).
const SEGMENTRY_URL = "__SEGMENTRY_URL__";
const SEGMENTRY_SHOP = "__SEGMENTRY_SHOP__";
const SEGMENTRY_TOKEN = "__SEGMENTRY_TOKEN__";

function segmentryCustomer() {
  // Only a logged-in customer has an id; a visitor's views are not sent.
  const customer = init && init.data && init.data.customer;
  return customer && customer.id ? String(customer.id) : null;
}

function segmentrySend(event, field, id) {
  const customerId = segmentryCustomer();
  if (!customerId || !id) return;
  const body = {
    shop: SEGMENTRY_SHOP,
    token: SEGMENTRY_TOKEN,
    event: {
      id: event.id,
      name: event.name,
      timestamp: event.timestamp,
      customer_id: customerId,
      [field]: String(id),
    },
  };
  // text/plain: a "simple" request, so the browser sends no CORS preflight.
  fetch(SEGMENTRY_URL, {
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: JSON.stringify(body),
    keepalive: true,
  }).catch(() => {});
}

analytics.subscribe("product_viewed", (event) => {
  const variant = event.data && event.data.productVariant;
  segmentrySend(event, "product_id", variant && variant.product && variant.product.id);
});

analytics.subscribe("collection_viewed", (event) => {
  const collection = event.data && event.data.collection;
  segmentrySend(event, "collection_id", collection && collection.id);
});
