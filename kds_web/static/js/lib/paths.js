// Every API path the screens use, in one place (see docs/api.md).
const e = encodeURIComponent;

export const paths = {
  menu: (r) => `/api/r/${e(r)}/menu`,
  stationTickets: (r, s) => `/api/r/${e(r)}/stations/${e(s)}/tickets`,
  tickets: (r, state = "all") => `/api/r/${e(r)}/tickets?state=${e(state)}`,
  expo: (r) => `/api/r/${e(r)}/expo`,
  dish: (r, order, line, action) => `/api/r/${e(r)}/orders/${e(order)}/lines/${e(line)}/${e(action)}`,
  ticket: (r, order, action) => `/api/r/${e(r)}/orders/${e(order)}/${e(action)}`,
  rush: (r, order) => `/api/r/${e(r)}/orders/${e(order)}/rush`,
  returnDecision: (r, order, line, approve) =>
    `/api/r/${e(r)}/orders/${e(order)}/lines/${e(line)}/return/${approve ? "approve" : "refuse"}`,
  reprint: (r, order) => `/api/r/${e(r)}/orders/${e(order)}/reprint`,

  dinerSession: () => `/api/diner/session`,
  tableOrders: (r, table) => `/api/r/${e(r)}/tables/${e(table)}/orders`,
  cart: (r, table) => `/api/r/${e(r)}/tables/${e(table)}/cart`,
  cartItems: (r, table) => `/api/r/${e(r)}/tables/${e(table)}/cart/items`,
  placeOrder: (r, table) => `/api/r/${e(r)}/tables/${e(table)}/orders`,
  addLines: (r, order) => `/api/r/${e(r)}/orders/${e(order)}/lines`,
  returnLine: (r, order, line) => `/api/r/${e(r)}/orders/${e(order)}/lines/${e(line)}/return`,
  urgeLine: (r, order, line) => `/api/r/${e(r)}/orders/${e(order)}/lines/${e(line)}/urge`,
  callWaiter: (r, table) => `/api/r/${e(r)}/tables/${e(table)}/waiter`,
  bill: (r, table) => `/api/r/${e(r)}/tables/${e(table)}/bill`,

  board: (r) => `/api/r/${e(r)}/board`,
  tableAction: (r, table, action) => `/api/r/${e(r)}/tables/${e(table)}/${e(action)}`,
  stockList: (r) => `/api/r/${e(r)}/stock`,
  setStock: (r, dish) => `/api/r/${e(r)}/dishes/${e(dish)}/stock`,
  soldOut: (r, dish) => `/api/r/${e(r)}/dishes/${e(dish)}/sold-out`,
  adminMenu: (r) => `/api/r/${e(r)}/admin/menu`,
  adminDish: (r, dish) => `/api/r/${e(r)}/admin/dishes/${e(dish)}`,
  stats: (r, report, query = "") => `/api/r/${e(r)}/stats/${e(report)}${query ? "?" + query : ""}`,
  ordersOfDay: (r) => `/api/r/${e(r)}/orders`,
  qrList: (r) => `/api/r/${e(r)}/qr`,
  qrSheet: (r, page) => `/api/r/${e(r)}/qr-sheet.svg?page=${page}`,
};
