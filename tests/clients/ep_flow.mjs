// Drives offerline with Elastic Path's own JS SDK (@elasticpath/js-sdk, pinned in package.json):
// settings, cart, custom items, cart- and item-level custom discounts, checkout, order read-back
// (client_credentials); then a shopper's SDK with the client_id alone (the implicit grant),
// which may use a cart and check out but not change settings, add custom discounts or read
// orders (403).
// With a promotion code, a cart priced by offerline's rule promotions: AddPromotion,
// RemovePromotion, checkout (contract §10).
// Usage: node ep_flow.mjs [base_url client_id client_secret [promo_code]]
//   (or env OFFERLINE_BASE_URL, OFFERLINE_CLIENT_ID, OFFERLINE_CLIENT_SECRET).
// Prints a JSON summary; exits non-zero on any mismatch or failed call.
import { gateway, MemoryStorageFactory } from '@elasticpath/js-sdk'

const [baseArg, idArg, secretArg, promoArg] = process.argv.slice(2)
// A voucher code of a USD promotion (5.00 off): the rule-promotion part runs when given.
const promoCode = promoArg || process.env.OFFERLINE_PROMO_CODE
const base = new URL(baseArg || process.env.OFFERLINE_BASE_URL || 'http://127.0.0.1:8000')
const client_id = idArg || process.env.OFFERLINE_CLIENT_ID
const client_secret = secretArg || process.env.OFFERLINE_CLIENT_SECRET
if (!client_id || !client_secret) {
  console.error('client_id and client_secret are required (argv or OFFERLINE_CLIENT_ID / OFFERLINE_CLIENT_SECRET)')
  process.exit(2)
}

const failures = []
function check(what, actual, expected) {
  const ok = JSON.stringify(actual) === JSON.stringify(expected)
  if (!ok) failures.push({ what, actual, expected })
  return ok
}

const EP = gateway({
  client_id,
  client_secret,
  host: base.host,
  protocol: base.protocol.replace(':', ''),
  currency: 'USD',
  storage: new MemoryStorageFactory(),
  custom_fetch: fetch,
  name: 'offerline-test',
})

const disc = (amount, level) => ({
  external_id: `${level} custom discount`,
  discount_engine: 'Custom Discount Engine',
  amount,
  description: 'custom discount description',
  discount_code: `${level} custom-code`,
})

try {
  const auth = await EP.Authenticate()
  check('token type', auth.token_type, 'Bearer')

  const settings = await EP.Settings.UpdateCart({ discounts: { custom_discounts_enabled: true } })
  check('settings enabled', settings.data.discounts.custom_discounts_enabled, true)

  const created = await EP.Cart().CreateCart({
    name: 'sdk cart',
    discount_settings: { custom_discounts_enabled: true },
  })
  const cartId = created.data.id
  check('cart discount_settings', created.data.discount_settings.custom_discounts_enabled, true)
  const cart = EP.Cart(cartId)

  await cart.AddCustomItem({ name: 'Item A', sku: 'sdk-A', quantity: 2, price: { amount: 4000, includes_tax: true } })
  const items = await cart.AddCustomItem({ name: 'Item B', sku: 'sdk-B', quantity: 1, price: { amount: 2000, includes_tax: true } })
  check('items count', items.data.length, 2)
  check('items without_discount', items.meta.display_price.without_discount.amount, 10000)
  const itemA = items.data.find((i) => i.sku === 'sdk-A')

  const cartDisc = await cart.AddCartCustomDiscount(disc(-1000, 'cart'))
  check('cart discount formatted', cartDisc.data.amount.formatted, '-$10.00')
  const itemDisc = await cart.AddItemCustomDiscount(itemA.id, disc(-500, 'item'))
  check('item discount amount', itemDisc.data.amount.amount, -500)

  const full = await cart.With(['items', 'custom_discounts']).Get()
  check('cart with_tax', full.data.meta.display_price.with_tax.amount, 8500)
  check('cart discount', full.data.meta.display_price.discount.formatted, '-$15.00')
  check('cart relationships.custom_discounts', full.data.relationships.custom_discounts.data.map((d) => d.id), [cartDisc.data.id])
  check('cart included.custom_discounts', full.included.custom_discounts.length, 2)

  const billing = {
    first_name: 'Andy', last_name: 'Dwyer', company_name: 'Elasticpath', line_1: '1 Sunny Street', line_2: '',
    city: 'Sunny Town', postcode: 'v1v 1v1', county: 'BC', country: 'CA',
  }
  const checkout = await cart.Checkout({ name: 'John Doe', email: 'andy@example.com' }, billing)
  const orderId = checkout.data.id
  check('checkout type', checkout.data.type, 'order')

  const order = await EP.Orders.With('custom_discounts').Get(orderId)
  const dp = order.data.meta.display_price
  check('order without_discount', dp.without_discount.amount, 10000)
  check('order discount', dp.discount.amount, -1500)
  check('order with_tax', dp.with_tax.amount, 8500)
  check('order without_tax', dp.without_tax.amount, 8500)
  check('order balance_owing', dp.balance_owing.amount, 8500)
  check('order paid', dp.paid.amount, 0)
  check('order formatted', [dp.with_tax.formatted, dp.discount.formatted, dp.without_discount.formatted], ['$85.00', '-$15.00', '$100.00'])
  check('order status', [order.data.status, order.data.payment, order.data.shipping], ['incomplete', 'unpaid', 'unfulfilled'])
  check('order customer', order.data.customer, { name: 'John Doe', email: 'andy@example.com' })
  check('order relationships.custom_discounts', order.data.relationships.custom_discounts.data, [
    { type: 'custom_discount', id: cartDisc.data.id },
  ])
  check('order relationships.items', order.data.relationships.items.data.map((i) => i.type), ['item', 'item'])
  const inc = order.included.custom_discounts
  check('included ids', inc.map((d) => d.id), [itemDisc.data.id, cartDisc.data.id])
  check('included item discount', inc[0], {
    amount: { amount: -500, currency: 'USD' }, type: 'custom_discount', id: itemDisc.data.id,
    external_id: 'item custom discount', discount_engine: 'Custom Discount Engine',
    description: 'custom discount description', discount_code: 'item custom-code',
  })
  check('included cart discount amount', inc[1].amount, { amount: -1000, currency: 'USD' })

  const orderItems = await EP.Orders.Items(orderId)
  check('order items', orderItems.data.map((i) => [i.sku, i.quantity, i.value.amount]), [['sdk-A', 2, 8000], ['sdk-B', 1, 2000]])
  const oiA = orderItems.data.find((i) => i.sku === 'sdk-A')
  check('order item A custom_discounts', oiA.relationships.custom_discounts.data, [{ type: 'custom_discount', id: itemDisc.data.id }])
  const discountTotal = orderItems.data.reduce((s, i) => s + i.meta.display_price.discount.value.amount, 0)
  check('order items discount total', discountTotal, -1500)

  const Shop = gateway({
    client_id,
    host: base.host,
    protocol: base.protocol.replace(':', ''),
    currency: 'USD',
    storage: new MemoryStorageFactory(),
    custom_fetch: fetch,
    name: 'offerline-shopper',
  })
  const shopAuth = await Shop.Authenticate()
  check('implicit identifier', shopAuth.identifier, 'implicit')
  const shopCart = Shop.Cart((await Shop.Cart().CreateCart({ name: 'shopper cart' })).data.id)
  const shopItems = await shopCart.AddCustomItem({ name: 'Item S', sku: 'sdk-S', quantity: 1, price: { amount: 1500, includes_tax: true } })
  check('implicit items', shopItems.data.length, 1)
  const refused = async (what, pending) => {
    try {
      await pending
      failures.push({ what, actual: 'allowed', expected: 403 })
    } catch (e) {
      check(what, e && e.errors && e.errors[0] && e.errors[0].status, 403)
    }
  }
  await refused('implicit settings', Shop.Settings.UpdateCart({ discounts: { custom_discounts_enabled: true } }))
  await refused('implicit custom discount', shopCart.AddCartCustomDiscount(disc(-100, 'cart')))
  const shopOrder = await shopCart.Checkout({ name: 'Shopper', email: 'shopper@example.com' }, billing)
  check('implicit checkout', shopOrder.data.meta.display_price.with_tax.amount, 1500)
  await refused('implicit order read', Shop.Orders.Get(shopOrder.data.id))
  await refused('implicit order items', Shop.Orders.Items(shopOrder.data.id))

  let ruleOrderId = null
  if (promoCode) {
    const ruleCart = EP.Cart((await EP.Cart().CreateCart({ name: 'rules cart', discount_settings: { use_rule_promotions: true } })).data.id)
    await ruleCart.AddCustomItem({ name: 'Item R', sku: 'sdk-R', quantity: 2, price: { amount: 2500, includes_tax: true } })
    const added = await ruleCart.AddPromotion(promoCode)
    check('promotion discount', added.meta.display_price.discount.amount, -500)
    check('promotion item', added.data.some((i) => i.type === 'promotion_item' && i.code === promoCode), true)
    const itemR = added.data.find((i) => i.sku === 'sdk-R')
    check('rule discount source', itemR.discounts.map((d) => [d.promotion_source, d.amount.amount]), [['rule-promotion', -500]])
    const removed = await ruleCart.RemovePromotion(promoCode)
    check('promotion removed', removed.meta.display_price.discount.amount, 0)
    await ruleCart.AddPromotion(promoCode)
    const ruleOrder = await ruleCart.Checkout({ name: 'Rule', email: 'rule@example.com' }, billing)
    check('rule order total', ruleOrder.data.meta.display_price.with_tax.amount, 4500)
    ruleOrderId = ruleOrder.data.id
  }

  console.log(JSON.stringify({ ok: failures.length === 0, order_id: orderId, cart_id: cartId, implicit_order_id: shopOrder.data.id, rule_order_id: ruleOrderId,
    with_tax: dp.with_tax.amount, discount: dp.discount.amount, without_discount: dp.without_discount.amount,
    included_custom_discounts: inc.length, order_items: orderItems.data.length, failures }))
  process.exit(failures.length === 0 ? 0 : 1)
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : e, failures }))
  process.exit(1)
}
