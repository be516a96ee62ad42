"""The demo store's parameters: every number and name that shapes the synthetic shop.

The docs cite these by name. Shares are fractions of customers or orders as each comment says;
days are shop-local (Asia/Tokyo); money is tax-exclusive yen.
"""

from __future__ import annotations

HISTORY_DAYS = 800  # first orders start this many days before end_date
TZ_OFFSET_SECONDS = 9 * 3600  # NOTE: Asia/Tokyo has had no daylight saving time since 1951.
CURRENCY = "JPY"
NEVER_ORDERED_SHARE = 0.10  # signed up, never ordered
ACQUISITION_GROWTH = 0.6  # new customers per day grow by 60% across the history
HOUR_WEIGHTS = (2, 1, 1, 0.5, 0.5, 0.5, 1, 2, 3, 3, 4, 5, 7, 6, 5, 5, 5, 6, 7, 8, 9, 10, 9, 6)
# Sales: (discount code, first (month, day), last (month, day), extra demand, percent off).
SALE_WINDOWS = (
    ("SPRING{year}", (3, 20), (4, 10), 0.3, 10),
    ("SUMMERSALE{year}", (6, 20), (7, 10), 0.7, 15),
    ("BLACKFRIDAY", (11, 22), (11, 30), 0.8, 20),
    ("HOLIDAY{year}", (12, 1), (12, 25), 0.9, 10),
)
SALE_PULL_FORWARD = 0.35  # share of repeat orders due within 30 days after a sale moved into it
SALE_PULL_DAYS = 30

CHANNELS = ("instagram", "google", "line", "email", "direct", "affiliate")
FIRST_CHANNEL_MIX = (0.30, 0.24, 0.08, 0.05, 0.18, 0.15)
# Weights, not shares: line only counts for customers with a linked LINE account, email only
# for those SUBSCRIBED to email; the other weights are renormalised.
REPEAT_CHANNEL_MIX = (0.08, 0.10, 0.45, 0.25, 0.25, 0.04)
F2_CHANNEL_FACTOR = (0.9, 1.0, 1.25, 1.2, 1.1, 0.75)  # effect on the 1st→2nd conversion
POS_SHARE = 0.015  # orders at pop-up stores (source_name 'pos')

# P(order k+1 | order k) for k = 1, 2, …; the last value holds for later orders. About a
# third come back for a 2nd order; those who do grow loyal. With the gaps below and the
# renewals, a million customers place about 3 million orders (orders due after the end are
# dropped).
REPEAT_PROBABILITY = (0.36, 0.75, 0.83, 0.88, 0.91, 0.93, 0.94, 0.95)
MAX_ORDERS = 60
MIN_GAP_DAYS = 3
GAP_SHAPE = 2.5  # gamma shape of the gap between orders (noise around the line's mean)
CUSTOMER_PACE_SIGMA = 0.35  # lognormal spread of each customer's own pace

LINES = ("skincare", "haircare", "bodycare", "makeup", "supplements")
LINE_MIX = (0.40, 0.18, 0.12, 0.15, 0.15)  # product line of the first order
REORDER_GAP_DAYS = (35, 45, 45, 70, 30)  # mean days to the next order, by line
STAY_IN_LINE = 0.65  # the next order's main line is the previous one's
CROSSOVER = (  # where the next order goes when it leaves the line (rows and columns: LINES)
    (0.00, 0.40, 0.25, 0.20, 0.15),
    (0.45, 0.00, 0.35, 0.10, 0.10),
    (0.40, 0.35, 0.00, 0.10, 0.15),
    (0.55, 0.15, 0.10, 0.00, 0.20),
    (0.55, 0.10, 0.20, 0.15, 0.00),
)
REBUY_SAME_PRODUCT = 0.35  # staying in the line, the main product is bought again
# 1, 2, 3, 4, 5 lines drawn (renewals have one); a product drawn twice is one line, so orders
# average about 2.3 lines.
LINES_PER_ORDER = (0.10, 0.25, 0.30, 0.20, 0.15)
EXTRA_LINE_SAME_LINE = 0.55  # an order's further lines come from its main product line
QUANTITY_MIX = (0.88, 0.10, 0.02)  # 1, 2, 3 units

SUBSCRIBE_SHARE = (0.09, 0.0, 0.0, 0.0, 0.35)  # of first orders, by line: ~8% of customers
SUBSCRIPTION_INTERVAL_DAYS = 30
SUBSCRIPTION_MONTHLY_STOP = 0.05  # chance a subscriber stops before each renewal
SUBSCRIPTION_BILLING_HOUR = 10  # renewals are billed at 10:00 shop time

WELCOME_CODES = (("WELCOME10", 0.20, "percent", 10), ("WELCOME500", 0.12, "fixed", 500))
SALE_CODE_SHARE = 0.30  # repeat orders inside a sale window that use its code
LINE_COUPON = ("LINE500", 0.30, "fixed", 500)  # share of LINE-channel repeat orders
FREE_SHIPPING_FROM = 5_000  # yen, after discounts
SHIPPING_FEE = 550
TAX_PERCENT = 10  # added on top, rounded down: total = subtotal - discounts + shipping + tax
CANCEL_RATE = 0.02  # cancelled within CANCEL_WITHIN_DAYS, refunded in full
CANCEL_WITHIN_DAYS = 3
REFUND_RATE = 0.03  # of orders never cancelled
FULL_REFUND_SHARE = 0.4  # of refunds; the others return 20–80% of the total
GIFT_SHARE = 0.03  # orders tagged 'gift' (three times as many in December)
WHOLESALE_SHARE = 0.001  # orders tagged 'wholesale', WHOLESALE_QUANTITY units a line
WHOLESALE_QUANTITY = 12

SIGNUP_AT_CHECKOUT = 0.6  # accounts created at the first checkout; the others earlier
SIGNUP_LEAD_DAYS = 20  # mean days from an earlier sign-up to the first order
LINE_TAG_SHARE = 0.25  # customers tagged 'line' (all whose first order came through LINE)
LINE_LINK_LOYALTY = 0.5  # each order after the first makes linking LINE this much likelier
LINE_LINK_DELAY_DAYS = 60  # mean days from sign-up to linking LINE
VIP_SPEND = 80_000  # net yen spent; the 'vip' tag is added when crossed (~10% of customers)
EMAIL_STATES = (("SUBSCRIBED", 0.55), ("NOT_SUBSCRIBED", 0.35), ("UNSUBSCRIBED", 0.10))
SMS_STATES = (("SUBSCRIBED", 0.15), ("NOT_SUBSCRIBED", 0.80), ("UNSUBSCRIBED", 0.05))
PHONE_SHARE = 0.6
FEMALE_SHARE = 0.85

VENDORS = ("Hanami Skin", "Tsubaki Lab", "Mori Botanics", "Kiyora Cosmetics", "Hanami Inner Beauty")
LINE_CODES = ("SK", "HC", "BC", "MU", "SP")
# (line, product_type, title, price in yen, tags); the vendor is the line's brand. Titles are
# Japanese, as a Japanese store's are; lines, types and tags are ASCII slugs (queries use them).
CATALOG = (
    ("skincare", "cleanser", "やさしい泡洗顔フォーム", 2400, "bestseller"),
    ("skincare", "cleanser", "椿クレンジングオイル", 3200, ""),
    ("skincare", "cleanser", "泡洗顔フォーム 詰め替え", 2000, "refill"),
    ("skincare", "toner", "米ぬか保湿化粧水", 3000, "bestseller"),
    ("skincare", "toner", "保湿化粧水 詰め替え", 2500, "refill"),
    ("skincare", "serum", "ビタミンC美容液", 6800, "serum bestseller"),
    ("skincare", "serum", "レチノール ナイト美容液", 8800, "serum new"),
    ("skincare", "serum", "ヒアルロン酸 しっとり美容液", 5800, "serum"),
    ("skincare", "serum", "ビタミンC美容液 詰め替え", 5200, "serum refill"),
    ("skincare", "moisturizer", "うるおいバリアクリーム", 4800, "bestseller"),
    ("skincare", "moisturizer", "オーバーナイト保湿ジェル", 5500, "new"),
    ("skincare", "moisturizer", "うるおいクリーム 詰め替え", 4000, "refill"),
    ("skincare", "mask", "シートマスク 5枚入り", 1800, ""),
    ("skincare", "mask", "カオリン泥パック", 2800, ""),
    ("skincare", "sunscreen", "UVミルク SPF50+", 3300, ""),
    ("skincare", "gift_set", "スキンケア ホリデーコフレ", 9800, "gift limited"),
    ("haircare", "shampoo", "椿しっとりシャンプー", 2800, "bestseller"),
    ("haircare", "shampoo", "頭皮ケアシャンプー", 3200, "new"),
    ("haircare", "shampoo", "しっとりシャンプー 詰め替え", 2300, "refill"),
    ("haircare", "conditioner", "椿しっとりコンディショナー", 2800, "bestseller"),
    ("haircare", "conditioner", "しっとりコンディショナー 詰め替え", 2300, "refill"),
    ("haircare", "hair_oil", "椿ヘアオイル", 3600, "bestseller"),
    ("haircare", "hair_mask", "補修ヘアマスク", 3400, ""),
    ("bodycare", "body_lotion", "柚子ボディローション", 2600, "bestseller"),
    ("bodycare", "body_lotion", "柚子ボディローション 詰め替え", 2100, "refill"),
    ("bodycare", "body_wash", "檜ボディウォッシュ", 2200, ""),
    ("bodycare", "body_wash", "檜ボディウォッシュ 詰め替え", 1800, "refill"),
    ("bodycare", "hand_cream", "桜ハンドクリーム", 1200, "gift limited"),
    ("bodycare", "body_scrub", "海塩ボディスクラブ", 3000, "new"),
    ("bodycare", "bath_salt", "温泉バスソルト", 1500, "gift"),
    ("makeup", "lipstick", "シアーリップ ローズ", 3300, "bestseller"),
    ("makeup", "lipstick", "シアーリップ コーラル", 3300, "new"),
    ("makeup", "lipstick", "マットリップ クリムゾン", 3600, "limited"),
    ("makeup", "foundation", "美容液ツヤ肌ファンデーション", 5500, "bestseller"),
    ("makeup", "foundation", "クッションファンデーション", 4800, ""),
    ("makeup", "foundation", "クッションファンデーション 詰め替え", 3200, "refill"),
    ("makeup", "eyeshadow", "四季のアイシャドウパレット", 5200, "new"),
    ("makeup", "mascara", "ロングラッシュマスカラ", 2800, ""),
    ("supplements", "supplement", "コラーゲンドリンク 30日分", 5400, "bestseller"),
    ("supplements", "supplement", "コラーゲンドリンク 詰め替えパック", 4800, "refill"),
    ("supplements", "supplement", "ビタミンCタブレット", 2400, ""),
    ("supplements", "supplement", "ビューティースリープ ブレンド", 3800, "new"),
    ("supplements", "supplement", "乳酸菌サプリ", 3200, ""),
    ("supplements", "supplement", "ヒアルロン酸カプセル", 4200, ""),
    ("supplements", "gift_set", "インナービューティー ギフトボックス", 12000, "gift limited"),
)
NEW_PRODUCT_AGES = (60, 120, 180, 240, 300, 360)  # days before end_date the 'new' ones launched
# Touchpoints per channel: (utm_source, utm_medium, utm_campaign, referring_site, weight).
TOUCHPOINTS: dict[str, tuple[tuple[str | None, str | None, str | None, str | None, float], ...]] = {
    "instagram": (
        ("instagram", "social", "ig_serum_reels", "https://l.instagram.com/", 3),
        ("instagram", "social", "ig_influencer", "https://l.instagram.com/", 2),
        ("instagram", "social", "ig_new_arrivals", "https://l.instagram.com/", 1),
    ),
    "google": (
        ("google", "cpc", "brand_search", "https://www.google.com/", 3),
        ("google", "cpc", "generic_skincare", "https://www.google.com/", 2),
        ("google", "cpc", "shopping", "https://www.google.com/", 2),
    ),
    "line": (
        ("line", "message", "line_weekly", "https://line.me/", 3),
        ("line", "message", "line_coupon", "https://line.me/", 2),
        ("line", "message", "line_restock", "https://line.me/", 1),
    ),
    "email": (
        ("newsletter", "email", "monthly_newsletter", None, 3),
        ("newsletter", "email", "win_back", None, 1),
        ("email", "email", "restock_reminder", None, 1),
    ),
    "direct": ((None, None, None, None, 1),),
    "affiliate": (
        ("a8net", "affiliate", "a8_beauty", "https://px.a8.net/", 3),
        ("valuecommerce", "affiliate", "vc_cosme", "https://ck.jp.ap.valuecommerce.com/", 2),
        ("moshimo", "affiliate", "moshimo_blog", "https://af.moshimo.com/", 1),
    ),
}
# (ISO 3166-2 prefecture, population in millions as the weight, cities)
REGIONS = (
    ("JP-13", 14.0, ("世田谷区", "新宿区", "渋谷区", "練馬区", "八王子市")),
    ("JP-14", 9.2, ("横浜市", "川崎市", "相模原市")),
    ("JP-27", 8.8, ("大阪市", "堺市", "豊中市")),
    ("JP-23", 7.5, ("名古屋市", "豊田市", "岡崎市")),
    ("JP-11", 7.3, ("さいたま市", "川口市", "川越市")),
    ("JP-12", 6.3, ("千葉市", "船橋市", "柏市")),
    ("JP-28", 5.4, ("神戸市", "姫路市", "西宮市")),
    ("JP-01", 5.1, ("札幌市", "旭川市", "函館市")),
    ("JP-40", 5.1, ("福岡市", "北九州市", "久留米市")),
    ("JP-22", 3.6, ("静岡市", "浜松市")),
    ("JP-34", 2.8, ("広島市", "福山市")),
    ("JP-26", 2.5, ("京都市", "宇治市")),
    ("JP-04", 2.3, ("仙台市", "石巻市")),
    ("JP-15", 2.1, ("新潟市", "長岡市")),
    ("JP-47", 1.5, ("那覇市", "沖縄市")),
)
# fmt: off
# Given and family names as a Japanese store records them: kanji, some given names in kana.
FEMALE_NAMES = ("結衣", "葵", "陽菜", "さくら", "結菜", "美桜", "凛", "遥", "美咲",
                "彩花", "七海", "芽衣", "優花", "えみ", "恵子", "智子", "直美", "カナ")
MALE_NAMES = ("陽翔", "蓮", "蒼太", "悠斗", "匠", "健太", "大輝", "翔太")
FAMILY_NAMES = ("佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "山本",
                "中村", "小林", "加藤", "吉田", "山田", "佐々木", "山口",
                "松本", "井上", "木村", "林", "清水", "斎藤")
# fmt: on

# Id ranges, Shopify-like: numeric strings.
CUSTOMER_ID_BASE = 1_000_000
ORDER_ID_BASE = 5_100_000_000_000
ORDER_NAME_BASE = 1000  # the first order is "#1001"
LINE_ID_BASE = 13_000_000_000_000
PRODUCT_ID_BASE = 7_000_000_000_000
VARIANT_ID_BASE = 44_000_000_000_000
