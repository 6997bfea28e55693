// Sends identify, track, page and screen through the real Segment Node client
// (@segment/analytics-node) to the dangol server at argv[2] with write key argv[3].
import { Analytics } from '@segment/analytics-node'

const [host, writeKey, prefix] = process.argv.slice(2)
const analytics = new Analytics({ writeKey, host, maxEventsInBatch: 3, flushInterval: 50, maxRetries: 1 })
const errors = []
analytics.on('error', (e) => errors.push(String(e?.reason ?? e?.message ?? e)))

const anonymousId = `${prefix}-anon`
const userId = `${prefix}-user`
analytics.page({ anonymousId, name: 'Home', properties: { path: '/' } })
analytics.track({ anonymousId, event: 'Product Added', properties: { product_id: 'JS-1', name: '다크초콜릿 선물세트', category: '초콜릿', price: 25000, quantity: 2 } })
analytics.identify({ userId, anonymousId, traits: { email: `${prefix}@example.com`, name: '노드 고객', sms_consent: false } })
analytics.track({ userId, event: 'Order Completed', properties: { order_id: `${prefix}-order`, total: 50000, products: [{ product_id: 'JS-1', price: 25000, quantity: 2 }] } })
analytics.screen({ userId, name: 'Receipt' })
await analytics.closeAndFlush({ timeout: 10000 })
if (errors.length) {
  console.error('errors:', errors)
  process.exit(1)
}
