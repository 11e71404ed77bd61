//! The catalogue slice offerline needs: products (the Omnitron product shape), their images,
//! price lists, stock lists, and a product's price in a price list.
//!
//! Prices are integer minor units of the price list's currency; tax rates are hundredths
//! of a percent (`18.00` % is 1800).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value as Json;
use sqlx::AnyConnection;
use sqlx::Row;

use crate::exec::{Cols, Exec, Param, complete};
use crate::list::{ListQuery, in_id_order, placeholders};
use crate::{Result, Store, StoreError, is_unique_violation, now_micros};

/// What pricing a basket reads from the catalogue ([`Store::pricing_catalog`]).
#[derive(Debug, Clone)]
pub struct PricingCatalog {
    pub price_list: PriceList,
    /// `None` if the default stock list is gone (only checkout needs it).
    pub stock_list: Option<StockList>,
    /// In the order of the ids asked for; missing ones are left out.
    pub products: Vec<Product>,
    /// Prices in `price_list`, by product id.
    pub prices: HashMap<i64, ProductPrice>,
    /// The offers' pricing version read with it ([`crate::promotions::PricingVersions`]):
    /// pricing needs the offer index built from it or a later one, and reading it here
    /// saves a round trip of its own.
    pub offers_version: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductImage {
    pub id: i64,
    pub product_id: i64,
    pub image: String,
    pub status: String,
    pub position: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub sku: String,
    pub base_code: Option<String>,
    pub barcode: Option<String>,
    pub product_type: String,
    pub is_active: bool,
    pub parent_id: Option<i64>,
    pub attributes: Json,
    pub attributes_kwargs: Json,
    pub extra_attributes: Json,
    pub attribute_set: Option<i64>,
    pub uuid: String,
    pub productization_date: Option<i64>,
    pub listing_code: Option<String>,
    pub data_source: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
    pub images: Vec<ProductImage>,
}

impl Product {
    /// Attribute values as plain strings, the form the pricing engine matches ranges on.
    pub fn attribute_strings(&self) -> std::collections::BTreeMap<String, String> {
        attribute_strings(&self.attributes)
    }
}

/// Attribute values as plain strings (a string as it is, anything else as its JSON text).
fn attribute_strings(attributes: &Json) -> std::collections::BTreeMap<String, String> {
    match attributes {
        Json::Object(m) => {
            m.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
        }
        _ => Default::default(),
    }
}

/// Fields of a new product or a partial update. `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub name: Option<String>,
    pub sku: Option<String>,
    pub base_code: Option<Option<String>>,
    pub barcode: Option<Option<String>>,
    pub product_type: Option<String>,
    pub is_active: Option<bool>,
    pub attributes: Option<Json>,
    pub attributes_kwargs: Option<Json>,
    pub attribute_set: Option<Option<i64>>,
    pub images: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriceList {
    pub id: i64,
    pub name: String,
    pub code: Option<String>,
    pub currency: String,
    pub is_auto_sync: bool,
    pub created_at: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StockList {
    pub id: i64,
    pub name: String,
    pub code: Option<String>,
    pub is_auto_sync: bool,
    pub created_at: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductPrice {
    pub id: i64,
    pub product_id: i64,
    pub price_list_id: i64,
    pub price: i64,
    pub retail_price: Option<i64>,
    pub tax_rate: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

const PRICE_LIST_COLS: &str = "id, name, code, currency, is_auto_sync, created_at, modified_at";
const STOCK_LIST_COLS: &str = "id, name, code, is_auto_sync, created_at, modified_at";
const PRICE_COLS: &str = "id, product_id, price_list_id, price, retail_price, tax_rate, created_at, modified_at";
const IMAGE_COLS: &str = "id, product_id, image, status, position, created_at, modified_at";
/// The price list and the stock list created by the first migration.
static DEFAULT_PRICE_LIST_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {PRICE_LIST_COLS} FROM price_lists WHERE code = 'default_price_list' ORDER BY id LIMIT 1")
});
/// Both default lists in one row, the stock list's columns after the price list's (NULL when
/// there is no default stock list), then the offers' pricing version (migration 0014): what
/// pricing a basket reads, in one round trip.
static DEFAULT_LISTS_SQL: LazyLock<String> = LazyLock::new(|| default_lists_and("", ""));

/// [`DEFAULT_LISTS_SQL`] with `cols` after its columns and `from` after its `FROM`.
fn default_lists_and(cols: &str, from: &str) -> String {
    format!(
        "SELECT {}, {}, (SELECT version FROM pricing_versions WHERE name = 'offers'){cols} FROM \
         (SELECT {PRICE_LIST_COLS} FROM price_lists WHERE code = 'default_price_list' ORDER BY id LIMIT 1) pl \
         LEFT JOIN (SELECT {STOCK_LIST_COLS} FROM stock_lists WHERE code = 'default_stock_list' ORDER BY id LIMIT 1) sl \
         ON 1 = 1{from}",
        qualified("pl", PRICE_LIST_COLS),
        qualified("sl", STOCK_LIST_COLS)
    )
}
const PRODUCT_COLS: &str = "id, name, sku, base_code, barcode, product_type, is_active, parent_id, attributes, \
     attributes_kwargs, extra_attributes, attribute_set, uuid, productization_date, listing_code, data_source, \
     created_at, modified_at";

fn json_col(r: &(impl Cols + ?Sized), i: usize) -> Result<Json> {
    Ok(serde_json::from_str(&r.text(i)?).unwrap_or(Json::Object(Default::default())))
}

/// A row of [`PRODUCT_COLS`], from either driver.
fn product_from_row(r: &(impl Cols + ?Sized)) -> Result<Product> {
    Ok(Product {
        id: r.int(0)?,
        name: r.text(1)?,
        sku: r.text(2)?,
        base_code: r.opt_text(3)?,
        barcode: r.opt_text(4)?,
        product_type: r.text(5)?,
        is_active: r.int(6)? != 0,
        parent_id: r.opt_int(7)?,
        attributes: json_col(r, 8)?,
        attributes_kwargs: json_col(r, 9)?,
        extra_attributes: json_col(r, 10)?,
        attribute_set: r.opt_int(11)?,
        uuid: r.text(12)?,
        productization_date: r.opt_int(13)?,
        listing_code: r.opt_text(14)?,
        data_source: r.opt_text(15)?,
        created_at: r.int(16)?,
        modified_at: r.int(17)?,
        images: Vec::new(),
    })
}

/// A row of [`PRICE_LIST_COLS`].
fn price_list_from_row(r: &(impl Cols + ?Sized)) -> Result<PriceList> {
    Ok(PriceList {
        id: r.int(0)?,
        name: r.text(1)?,
        code: r.opt_text(2)?,
        currency: r.text(3)?,
        is_auto_sync: r.int(4)? != 0,
        created_at: r.int(5)?,
        modified_at: r.int(6)?,
    })
}

/// A row of [`STOCK_LIST_COLS`].
fn stock_list_from_row(r: &(impl Cols + ?Sized)) -> Result<StockList> {
    Ok(StockList {
        id: r.int(0)?,
        name: r.text(1)?,
        code: r.opt_text(2)?,
        is_auto_sync: r.int(3)? != 0,
        created_at: r.int(4)?,
        modified_at: r.int(5)?,
    })
}

/// A row of [`PRICE_COLS`].
fn price_from_row(r: &(impl Cols + ?Sized)) -> Result<ProductPrice> {
    Ok(ProductPrice {
        id: r.int(0)?,
        product_id: r.int(1)?,
        price_list_id: r.int(2)?,
        price: r.int(3)?,
        retail_price: r.opt_int(4)?,
        tax_rate: r.int(5)?,
        created_at: r.int(6)?,
        modified_at: r.int(7)?,
    })
}

/// A row of [`IMAGE_COLS`].
fn image_from_row(r: &(impl Cols + ?Sized)) -> Result<ProductImage> {
    Ok(ProductImage {
        id: r.int(0)?,
        product_id: r.int(1)?,
        image: r.text(2)?,
        status: r.text(3)?,
        position: r.int(4)?,
        created_at: r.int(5)?,
        modified_at: r.int(6)?,
    })
}

fn sku_conflict(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict { field: "sku", message: "product with this sku already exists.".into() }
    } else {
        e.into()
    }
}

impl Store {
    pub async fn create_product(&self, p: ProductInput) -> Result<Product> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO products (name, sku, base_code, barcode, product_type, is_active, attributes, attributes_kwargs, \
             attribute_set, uuid, productization_date, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) RETURNING {PRODUCT_COLS}"
        ))
        .bind(p.name.unwrap_or_default())
        .bind(p.sku.unwrap_or_default())
        .bind(p.base_code.flatten())
        .bind(p.barcode.flatten())
        .bind(p.product_type.unwrap_or_else(|| "0".into()))
        .bind(i64::from(p.is_active.unwrap_or(true)))
        .bind(p.attributes.unwrap_or_else(|| Json::Object(Default::default())).to_string())
        .bind(p.attributes_kwargs.unwrap_or_else(|| Json::Object(Default::default())).to_string())
        .bind(p.attribute_set.flatten())
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(sku_conflict)?;
        let mut product = product_from_row(&row)?;
        if let Some(images) = p.images {
            product.images = insert_images(&mut tx, product.id, &images, now).await?;
        }
        tx.commit().await?;
        Ok(product)
    }

    pub async fn update_product(&self, id: i64, p: ProductInput) -> Result<Product> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {PRODUCT_COLS} FROM products WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let cur = product_from_row(&row)?;
        sqlx::query(
            "UPDATE products SET name = $1, sku = $2, base_code = $3, barcode = $4, product_type = $5, is_active = $6, \
             attributes = $7, attributes_kwargs = $8, attribute_set = $9, modified_at = $10 WHERE id = $11",
        )
        .bind(p.name.unwrap_or(cur.name))
        .bind(p.sku.unwrap_or(cur.sku))
        .bind(p.base_code.unwrap_or(cur.base_code))
        .bind(p.barcode.unwrap_or(cur.barcode))
        .bind(p.product_type.unwrap_or(cur.product_type))
        .bind(i64::from(p.is_active.unwrap_or(cur.is_active)))
        .bind(p.attributes.unwrap_or(cur.attributes).to_string())
        .bind(p.attributes_kwargs.unwrap_or(cur.attributes_kwargs).to_string())
        .bind(p.attribute_set.unwrap_or(cur.attribute_set))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(sku_conflict)?;
        if let Some(images) = p.images {
            sqlx::query("DELETE FROM product_images WHERE product_id = $1").bind(id).execute(&mut *tx).await?;
            insert_images(&mut tx, id, &images, now).await?;
        }
        tx.commit().await?;
        self.product(id).await
    }

    pub async fn product(&self, id: i64) -> Result<Product> {
        self.products_by_ids(&[id]).await?.pop().ok_or(StoreError::NotFound)
    }

    pub async fn product_by_sku(&self, sku: &str) -> Result<Option<Product>> {
        let row = sqlx::query("SELECT id FROM products WHERE sku = $1").bind(sku).fetch_optional(self.reader()).await?;
        match row {
            Some(r) => Ok(self.products_by_ids(&[r.try_get(0)?]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Products with their images, in the order of `ids` (two queries).
    pub async fn products_by_ids(&self, ids: &[i64]) -> Result<Vec<Product>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        products_on(&mut *self.reader().acquire().await?, ids).await
    }

    /// What pricing a basket reads, on one connection (one hand-off back to the pool instead
    /// of one per query) and in three statements: the default price list and stock list
    /// together, the products each with its price in the default price list beside it, and
    /// their images. Every storefront basket view and every checkout reads it, so on
    /// PostgreSQL each statement saved is a round trip off the checkout's path.
    pub async fn pricing_catalog(&self, product_ids: &[i64]) -> Result<PricingCatalog> {
        match self.sqlite_readers() {
            Some(readers) => readers.with(|ex| complete(pricing_catalog_on(ex, product_ids))),
            None => pricing_catalog_on(&mut *self.reader().acquire().await?, product_ids).await,
        }
    }

    pub async fn list_products(&self, q: &ListQuery) -> Result<(i64, Vec<Product>)> {
        let (count, ids) = self.list_ids("products", q).await?;
        Ok((count, self.products_by_ids(&ids).await?))
    }

    pub async fn create_price_list(&self, name: &str, code: Option<&str>, currency: &str) -> Result<PriceList> {
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO price_lists (name, code, currency, is_auto_sync, created_at, modified_at) \
             VALUES ($1, $2, $3, 1, $4, $4) RETURNING id, name, code, currency, is_auto_sync, created_at, modified_at",
        )
        .bind(name)
        .bind(code)
        .bind(currency)
        .bind(now)
        .fetch_one(self.writer())
        .await?;
        price_list_from_row(&row)
    }

    pub async fn price_lists_by_ids(&self, ids: &[i64]) -> Result<Vec<PriceList>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.fetch_in(format!(
                "SELECT id, name, code, currency, is_auto_sync, created_at, modified_at FROM price_lists WHERE id IN ({})",
                placeholders(0, ids.len())
            ), ids).await?;
        let lists = rows.iter().map(price_list_from_row).collect::<Result<Vec<_>>>()?;
        Ok(in_id_order(ids, lists, |l| l.id))
    }

    pub async fn price_list(&self, id: i64) -> Result<PriceList> {
        self.price_lists_by_ids(&[id]).await?.pop().ok_or(StoreError::NotFound)
    }

    /// The price list created by the first migration.
    pub async fn default_price_list(&self) -> Result<PriceList> {
        let row =
            sqlx::query(&DEFAULT_PRICE_LIST_SQL).fetch_optional(self.reader()).await?.ok_or(StoreError::NotFound)?;
        price_list_from_row(&row)
    }

    pub async fn list_price_lists(&self, q: &ListQuery) -> Result<(i64, Vec<PriceList>)> {
        let (count, ids) = self.list_ids("price_lists", q).await?;
        Ok((count, self.price_lists_by_ids(&ids).await?))
    }

    pub async fn create_stock_list(&self, name: &str, code: Option<&str>) -> Result<StockList> {
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO stock_lists (name, code, is_auto_sync, created_at, modified_at) VALUES ($1, $2, 1, $3, $3) \
             RETURNING id, name, code, is_auto_sync, created_at, modified_at",
        )
        .bind(name)
        .bind(code)
        .bind(now)
        .fetch_one(self.writer())
        .await?;
        stock_list_from_row(&row)
    }

    pub async fn stock_lists_by_ids(&self, ids: &[i64]) -> Result<Vec<StockList>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .fetch_in(
                format!(
                    "SELECT id, name, code, is_auto_sync, created_at, modified_at FROM stock_lists WHERE id IN ({})",
                    placeholders(0, ids.len())
                ),
                ids,
            )
            .await?;
        let lists = rows.iter().map(stock_list_from_row).collect::<Result<Vec<_>>>()?;
        Ok(in_id_order(ids, lists, |l| l.id))
    }

    pub async fn list_stock_lists(&self, q: &ListQuery) -> Result<(i64, Vec<StockList>)> {
        let (count, ids) = self.list_ids("stock_lists", q).await?;
        Ok((count, self.stock_lists_by_ids(&ids).await?))
    }

    /// Inserts or replaces the price of a product in a price list.
    pub async fn upsert_price(
        &self,
        product_id: i64,
        price_list_id: i64,
        price: i64,
        retail_price: Option<i64>,
        tax_rate: i64,
    ) -> Result<ProductPrice> {
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO product_prices (product_id, price_list_id, price, retail_price, tax_rate, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (product_id, price_list_id) DO UPDATE SET price = excluded.price, \
             retail_price = excluded.retail_price, tax_rate = excluded.tax_rate, modified_at = excluded.modified_at \
             RETURNING id, product_id, price_list_id, price, retail_price, tax_rate, created_at, modified_at",
        )
        .bind(product_id)
        .bind(price_list_id)
        .bind(price)
        .bind(retail_price)
        .bind(tax_rate)
        .bind(now)
        .fetch_one(self.writer())
        .await?;
        price_from_row(&row)
    }

    /// Prices of many products in one price list (one query), keyed by product id.
    pub async fn prices_for(&self, price_list_id: i64, product_ids: &[i64]) -> Result<HashMap<i64, ProductPrice>> {
        if product_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = prices_sql(product_ids.len());
        let rows = bind_all!(sqlx::query(&sql).bind(price_list_id), product_ids).fetch_all(self.reader()).await?;
        rows.iter().map(|r| price_from_row(r).map(|p| (p.product_id, p))).collect()
    }

    pub async fn list_prices(&self, q: &ListQuery) -> Result<(i64, Vec<ProductPrice>)> {
        let (count, ids) = self.list_ids("product_prices", q).await?;
        if ids.is_empty() {
            return Ok((count, Vec::new()));
        }
        let rows = self
            .fetch_in(
                format!(
                    "SELECT id, product_id, price_list_id, price, retail_price, tax_rate, created_at, modified_at \
                 FROM product_prices WHERE id IN ({})",
                    placeholders(0, ids.len())
                ),
                &ids,
            )
            .await?;
        let prices = rows.iter().map(price_from_row).collect::<Result<Vec<_>>>()?;
        Ok((count, in_id_order(&ids, prices, |p| p.id)))
    }
}

async fn insert_images(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    product_id: i64,
    images: &[String],
    now: i64,
) -> Result<Vec<ProductImage>> {
    let mut out = Vec::with_capacity(images.len());
    for (i, url) in images.iter().enumerate() {
        let id: i64 = sqlx::query(
            "INSERT INTO product_images (product_id, image, status, position, created_at, modified_at) \
             VALUES ($1, $2, 'active', $3, $4, $4) RETURNING id",
        )
        .bind(product_id)
        .bind(url)
        .bind(i as i64)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        out.push(ProductImage {
            id,
            product_id,
            image: url.clone(),
            status: "active".into(),
            position: i as i64,
            created_at: now,
            modified_at: now,
        });
    }
    Ok(out)
}

// The reads of [`Store::pricing_catalog`], over either driver ([`Exec`]), and the ones the
// single-purpose methods above share.

async fn pricing_catalog_on<E: Exec>(e: &mut E, product_ids: &[i64]) -> Result<PricingCatalog> {
    let ids: Vec<Param<'_>> = product_ids.iter().map(|&id| id.into()).collect();
    let rows = if product_ids.is_empty() {
        e.rows(&DEFAULT_LISTS_SQL, &[]).await?
    } else {
        e.rows(&pricing_catalog_sql(product_ids.len()), &ids).await?
    };
    let first = rows.first().ok_or(StoreError::NotFound)?.as_slice();
    let width = |cols: &str| cols.split(',').count();
    let lists = width(PRICE_LIST_COLS) + width(STOCK_LIST_COLS) + 1;
    let (pl, rest) = first.split_at(width(PRICE_LIST_COLS).min(first.len()));
    let (sl, version) = rest.split_at(width(STOCK_LIST_COLS).min(rest.len()));
    let offers_version = version.first().and_then(Param::int).unwrap_or(0);
    let price_list = price_list_from_row(pl)?;
    // No default stock list: its columns are NULL beside the price list.
    let stock_list = match sl.opt_int(0)? {
        Some(_) => Some(stock_list_from_row(sl)?),
        None => None,
    };
    // Each product's row again for each of its images; NULLs where there is no product, price
    // or image. Without products asked, the rows hold the lists alone.
    let (mut products, mut prices, mut images) = (Vec::new(), HashMap::new(), Vec::new());
    let product_rows = if product_ids.is_empty() { &rows[..0] } else { &rows[..] };
    for r in product_rows {
        let r = r.as_slice().get(lists..).unwrap_or_default();
        let (p, rest) = r.split_at(width(PRODUCT_COLS).min(r.len()));
        let (pp, img) = rest.split_at(width(PRICE_COLS).min(rest.len()));
        let Some(id) = p.opt_int(0)? else { continue };
        if products.last().is_none_or(|last: &Product| last.id != id) {
            products.push(product_from_row(p)?);
            if pp.opt_int(0)?.is_some() {
                let price = price_from_row(pp)?;
                prices.insert(price.product_id, price);
            }
        }
        if img.opt_int(0)?.is_some() {
            images.push(image_from_row(img)?);
        }
    }
    let products = with_images(product_ids, products, images);
    Ok(PricingCatalog { price_list, stock_list, products, prices, offers_version })
}

/// The default lists and the offers' pricing version ([`DEFAULT_LISTS_SQL`]'s columns), then
/// each of the products `$1…` with its price in the default price list and each of its
/// images, in one statement (a round trip, not three): a product's row once per image, in
/// image order; NULLs where there is no product, price or image.
fn pricing_catalog_sql(n: usize) -> String {
    default_lists_and(
        &format!(", {}, {}, {}", qualified("p", PRODUCT_COLS), qualified("pp", PRICE_COLS), qualified("i", IMAGE_COLS)),
        &format!(
            " LEFT JOIN products p ON p.id IN ({}) \
             LEFT JOIN product_prices pp ON pp.product_id = p.id AND pp.price_list_id = pl.id \
             LEFT JOIN product_images i ON i.product_id = p.id \
             ORDER BY p.id, i.position, i.id",
            placeholders(0, n)
        ),
    )
}

/// `cols` (a column list) with each column qualified by `table`.
fn qualified(table: &str, cols: &str) -> String {
    cols.split(',').map(|c| format!("{table}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

fn images_sql(ph: &str) -> String {
    format!("SELECT {IMAGE_COLS} FROM product_images WHERE product_id IN ({ph}) ORDER BY product_id, position, id")
}

fn prices_sql(n: usize) -> String {
    format!(
        "SELECT {PRICE_COLS} FROM product_prices WHERE price_list_id = $1 AND product_id IN ({})",
        placeholders(1, n)
    )
}

/// Puts each image on its product, and the products in the order of `ids`.
fn with_images(ids: &[i64], mut products: Vec<Product>, images: Vec<ProductImage>) -> Vec<Product> {
    let mut by_product: HashMap<i64, Vec<ProductImage>> = HashMap::new();
    for img in images {
        by_product.entry(img.product_id).or_default().push(img);
    }
    for p in &mut products {
        p.images = by_product.remove(&p.id).unwrap_or_default();
    }
    in_id_order(ids, products, |p| p.id)
}

async fn products_on(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<Product>> {
    let ph = placeholders(0, ids.len());
    let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE id IN ({ph})");
    let rows = bind_all!(sqlx::query(&sql), ids).fetch_all(&mut *conn).await?;
    let products = rows.iter().map(product_from_row).collect::<Result<Vec<_>>>()?;
    let sql = images_sql(&ph);
    let img_rows = bind_all!(sqlx::query(&sql), ids).fetch_all(&mut *conn).await?;
    let images = img_rows.iter().map(image_from_row).collect::<Result<Vec<_>>>()?;
    Ok(with_images(ids, products, images))
}

// ---------------------------------------------------------------------------------------
// The pricing catalogue: what a priced basket needs of every product, read whole.

/// A product as pricing sees it.
#[derive(Debug, Clone)]
pub struct PricedProduct {
    pub id: i64,
    pub sku: String,
    pub is_active: bool,
    pub attributes: Json,
}

/// Every product and every price of the default price list, with that list.
#[derive(Debug, Clone)]
pub struct CatalogRows {
    pub price_list: PriceList,
    pub products: Vec<PricedProduct>,
    /// (product id, price in the default list's minor units).
    pub prices: Vec<(i64, i64)>,
}

impl Store {
    /// The whole pricing catalogue (three queries on one connection).
    pub async fn catalog_rows(&self) -> Result<CatalogRows> {
        let mut conn = self.reader().acquire().await?;
        let row = sqlx::query(&DEFAULT_PRICE_LIST_SQL).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)?;
        let price_list = price_list_from_row(&row)?;
        let products = sqlx::query("SELECT id, sku, is_active, attributes FROM products")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                Ok(PricedProduct {
                    id: r.try_get(0)?,
                    sku: r.try_get(1)?,
                    is_active: r.try_get::<i64, _>(2)? != 0,
                    attributes: serde_json::from_str(&r.try_get::<String, _>(3)?)
                        .unwrap_or(Json::Object(Default::default())),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let prices = sqlx::query("SELECT product_id, price FROM product_prices WHERE price_list_id = $1")
            .bind(price_list.id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(CatalogRows { price_list, products, prices })
    }
}

impl PricedProduct {
    /// Attribute values as plain strings (as [`Product::attribute_strings`] gives them).
    pub fn attribute_strings(&self) -> std::collections::BTreeMap<String, String> {
        attribute_strings(&self.attributes)
    }
}
