//! US geography for synthetic addresses: states (USPS codes, approximate 2020 population
//! weight, ZIP-code prefix ranges, one area code) and cities with a ZIP prefix that lies in
//! their state's range, so generated ZIP codes are consistent with the state.

/// A US state or DC.
pub struct State {
    /// USPS two-letter code.
    pub code: &'static str,
    /// Population in hundred-thousands (2020 census, rounded).
    pub weight: u32,
    /// Inclusive ranges of 3-digit ZIP prefixes assigned to the state (checked against
    /// the cities' prefixes by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub zip_ranges: &'static [(u16, u16)],
    /// One area code used in the state.
    pub area_code: &'static str,
    /// Cities with their 3-digit ZIP prefix.
    pub cities: &'static [(&'static str, &'static str)],
}

macro_rules! state {
    ($code:literal, $w:literal, $zips:expr, $area:literal, [$(($c:literal, $z:literal)),+ $(,)?]) => {
        State { code: $code, weight: $w, zip_ranges: $zips, area_code: $area, cities: &[$(($c, $z)),+] }
    };
}

/// All states and DC.
pub const STATES: &[State] = &[
    state!(
        "AL",
        50,
        &[(350, 369)],
        "205",
        [
            ("Birmingham", "352"),
            ("Montgomery", "361"),
            ("Mobile", "366"),
            ("Huntsville", "358")
        ]
    ),
    state!(
        "AK",
        7,
        &[(995, 999)],
        "907",
        [
            ("Anchorage", "995"),
            ("Fairbanks", "997"),
            ("Juneau", "998")
        ]
    ),
    state!(
        "AZ",
        72,
        &[(850, 865)],
        "602",
        [
            ("Phoenix", "850"),
            ("Tucson", "857"),
            ("Mesa", "852"),
            ("Flagstaff", "860")
        ]
    ),
    state!(
        "AR",
        30,
        &[(716, 729)],
        "501",
        [
            ("Little Rock", "722"),
            ("Fayetteville", "727"),
            ("Fort Smith", "729")
        ]
    ),
    state!(
        "CA",
        395,
        &[(900, 961)],
        "213",
        [
            ("Los Angeles", "900"),
            ("San Diego", "921"),
            ("San Francisco", "941"),
            ("Sacramento", "958"),
            ("Fresno", "937"),
            ("San Jose", "951"),
            ("Oakland", "946")
        ]
    ),
    state!(
        "CO",
        58,
        &[(800, 816)],
        "303",
        [
            ("Denver", "802"),
            ("Colorado Springs", "809"),
            ("Boulder", "803"),
            ("Fort Collins", "805")
        ]
    ),
    state!(
        "CT",
        36,
        &[(60, 69)],
        "860",
        [
            ("Hartford", "061"),
            ("New Haven", "065"),
            ("Bridgeport", "066"),
            ("Stamford", "069")
        ]
    ),
    state!(
        "DE",
        10,
        &[(197, 199)],
        "302",
        [("Wilmington", "198"), ("Dover", "199"), ("Newark", "197")]
    ),
    state!("DC", 7, &[(200, 205)], "202", [("Washington", "200")]),
    state!(
        "FL",
        215,
        &[(320, 349)],
        "305",
        [
            ("Miami", "331"),
            ("Orlando", "328"),
            ("Tampa", "336"),
            ("Jacksonville", "322"),
            ("Tallahassee", "323")
        ]
    ),
    state!(
        "GA",
        107,
        &[(300, 319), (398, 399)],
        "404",
        [
            ("Atlanta", "303"),
            ("Savannah", "314"),
            ("Augusta", "309"),
            ("Macon", "312")
        ]
    ),
    state!(
        "HI",
        14,
        &[(967, 968)],
        "808",
        [("Honolulu", "968"), ("Hilo", "967")]
    ),
    state!(
        "ID",
        18,
        &[(832, 838)],
        "208",
        [
            ("Boise", "837"),
            ("Idaho Falls", "834"),
            ("Pocatello", "832")
        ]
    ),
    state!(
        "IL",
        128,
        &[(600, 629)],
        "312",
        [
            ("Chicago", "606"),
            ("Springfield", "627"),
            ("Peoria", "616"),
            ("Rockford", "611")
        ]
    ),
    state!(
        "IN",
        68,
        &[(460, 479)],
        "317",
        [
            ("Indianapolis", "462"),
            ("Fort Wayne", "468"),
            ("Evansville", "477"),
            ("South Bend", "466")
        ]
    ),
    state!(
        "IA",
        32,
        &[(500, 528)],
        "515",
        [
            ("Des Moines", "503"),
            ("Cedar Rapids", "524"),
            ("Davenport", "528"),
            ("Iowa City", "522")
        ]
    ),
    state!(
        "KS",
        29,
        &[(660, 679)],
        "316",
        [
            ("Wichita", "672"),
            ("Topeka", "666"),
            ("Overland Park", "662")
        ]
    ),
    state!(
        "KY",
        45,
        &[(400, 427)],
        "502",
        [
            ("Louisville", "402"),
            ("Lexington", "405"),
            ("Bowling Green", "421")
        ]
    ),
    state!(
        "LA",
        47,
        &[(700, 714)],
        "504",
        [
            ("New Orleans", "701"),
            ("Baton Rouge", "708"),
            ("Shreveport", "711"),
            ("Lafayette", "705")
        ]
    ),
    state!(
        "ME",
        14,
        &[(39, 49)],
        "207",
        [("Portland", "041"), ("Bangor", "044"), ("Augusta", "043")]
    ),
    state!(
        "MD",
        62,
        &[(206, 219)],
        "410",
        [
            ("Baltimore", "212"),
            ("Annapolis", "214"),
            ("Frederick", "217"),
            ("Rockville", "208")
        ]
    ),
    state!(
        "MA",
        70,
        &[(10, 27), (55, 55)],
        "617",
        [
            ("Boston", "021"),
            ("Worcester", "016"),
            ("Springfield", "011"),
            ("Cambridge", "021")
        ]
    ),
    state!(
        "MI",
        101,
        &[(480, 499)],
        "313",
        [
            ("Detroit", "482"),
            ("Grand Rapids", "495"),
            ("Lansing", "489"),
            ("Ann Arbor", "481")
        ]
    ),
    state!(
        "MN",
        57,
        &[(550, 567)],
        "612",
        [
            ("Minneapolis", "554"),
            ("Saint Paul", "551"),
            ("Duluth", "558"),
            ("Rochester", "559")
        ]
    ),
    state!(
        "MS",
        30,
        &[(386, 397)],
        "601",
        [
            ("Jackson", "392"),
            ("Gulfport", "395"),
            ("Hattiesburg", "394")
        ]
    ),
    state!(
        "MO",
        62,
        &[(630, 658)],
        "314",
        [
            ("Kansas City", "641"),
            ("Saint Louis", "631"),
            ("Springfield", "658"),
            ("Columbia", "652")
        ]
    ),
    state!(
        "MT",
        11,
        &[(590, 599)],
        "406",
        [("Billings", "591"), ("Missoula", "598"), ("Helena", "596")]
    ),
    state!(
        "NE",
        20,
        &[(680, 693)],
        "402",
        [("Omaha", "681"), ("Lincoln", "685")]
    ),
    state!(
        "NV",
        31,
        &[(889, 898)],
        "702",
        [("Las Vegas", "891"), ("Reno", "895"), ("Henderson", "890")]
    ),
    state!(
        "NH",
        14,
        &[(30, 38)],
        "603",
        [("Manchester", "031"), ("Concord", "033"), ("Nashua", "030")]
    ),
    state!(
        "NJ",
        93,
        &[(70, 89)],
        "201",
        [
            ("Newark", "071"),
            ("Jersey City", "073"),
            ("Trenton", "086"),
            ("Camden", "081")
        ]
    ),
    state!(
        "NM",
        21,
        &[(870, 884)],
        "505",
        [
            ("Albuquerque", "871"),
            ("Santa Fe", "875"),
            ("Las Cruces", "880")
        ]
    ),
    state!(
        "NY",
        202,
        &[(100, 149), (5, 5), (63, 63)],
        "212",
        [
            ("New York", "100"),
            ("Brooklyn", "112"),
            ("Buffalo", "142"),
            ("Rochester", "146"),
            ("Albany", "122"),
            ("Syracuse", "132")
        ]
    ),
    state!(
        "NC",
        104,
        &[(270, 289)],
        "919",
        [
            ("Charlotte", "282"),
            ("Raleigh", "276"),
            ("Greensboro", "274"),
            ("Durham", "277")
        ]
    ),
    state!(
        "ND",
        8,
        &[(580, 588)],
        "701",
        [
            ("Fargo", "581"),
            ("Bismarck", "585"),
            ("Grand Forks", "582")
        ]
    ),
    state!(
        "OH",
        118,
        &[(430, 459)],
        "614",
        [
            ("Columbus", "432"),
            ("Cleveland", "441"),
            ("Cincinnati", "452"),
            ("Toledo", "436")
        ]
    ),
    state!(
        "OK",
        40,
        &[(730, 749)],
        "405",
        [
            ("Oklahoma City", "731"),
            ("Tulsa", "741"),
            ("Norman", "730")
        ]
    ),
    state!(
        "OR",
        42,
        &[(970, 979)],
        "503",
        [("Portland", "972"), ("Eugene", "974"), ("Salem", "973")]
    ),
    state!(
        "PA",
        130,
        &[(150, 196)],
        "215",
        [
            ("Philadelphia", "191"),
            ("Pittsburgh", "152"),
            ("Harrisburg", "171"),
            ("Allentown", "181")
        ]
    ),
    state!(
        "RI",
        11,
        &[(28, 29)],
        "401",
        [("Providence", "029"), ("Warwick", "028")]
    ),
    state!(
        "SC",
        51,
        &[(290, 299)],
        "803",
        [
            ("Columbia", "292"),
            ("Charleston", "294"),
            ("Greenville", "296")
        ]
    ),
    state!(
        "SD",
        9,
        &[(570, 577)],
        "605",
        [("Sioux Falls", "571"), ("Rapid City", "577")]
    ),
    state!(
        "TN",
        69,
        &[(370, 385)],
        "615",
        [
            ("Nashville", "372"),
            ("Memphis", "381"),
            ("Knoxville", "379"),
            ("Chattanooga", "374")
        ]
    ),
    state!(
        "TX",
        291,
        &[(750, 799), (885, 885)],
        "713",
        [
            ("Houston", "770"),
            ("Dallas", "752"),
            ("San Antonio", "782"),
            ("Austin", "787"),
            ("El Paso", "799"),
            ("Fort Worth", "761")
        ]
    ),
    state!(
        "UT",
        33,
        &[(840, 847)],
        "801",
        [
            ("Salt Lake City", "841"),
            ("Provo", "846"),
            ("Ogden", "844")
        ]
    ),
    state!(
        "VT",
        6,
        &[(50, 59)],
        "802",
        [("Burlington", "054"), ("Montpelier", "056")]
    ),
    state!(
        "VA",
        86,
        &[(201, 201), (220, 246)],
        "804",
        [
            ("Richmond", "232"),
            ("Virginia Beach", "234"),
            ("Norfolk", "235"),
            ("Arlington", "222")
        ]
    ),
    state!(
        "WA",
        77,
        &[(980, 994)],
        "206",
        [
            ("Seattle", "981"),
            ("Spokane", "992"),
            ("Tacoma", "984"),
            ("Olympia", "985")
        ]
    ),
    state!(
        "WV",
        18,
        &[(247, 268)],
        "304",
        [
            ("Charleston", "253"),
            ("Huntington", "257"),
            ("Morgantown", "265")
        ]
    ),
    state!(
        "WI",
        59,
        &[(530, 549)],
        "414",
        [
            ("Milwaukee", "532"),
            ("Madison", "537"),
            ("Green Bay", "543")
        ]
    ),
    state!(
        "WY",
        6,
        &[(820, 831)],
        "307",
        [("Cheyenne", "820"), ("Casper", "826")]
    ),
];

/// Street names for address lines.
pub const STREETS: &[&str] = &[
    "Main St",
    "Oak St",
    "Maple Ave",
    "Cedar Ln",
    "Pine St",
    "Elm St",
    "Washington Ave",
    "Lake Dr",
    "Hill Rd",
    "Park Ave",
    "Sunset Blvd",
    "Church St",
    "Highland Ave",
    "River Rd",
    "Spring St",
    "Meadow Ln",
    "Forest Dr",
    "Walnut St",
    "Chestnut St",
    "Jefferson St",
    "Lincoln Ave",
    "Madison St",
    "Franklin St",
    "Cherry Ln",
    "Willow Way",
    "Birch Rd",
    "Center St",
    "Mill Rd",
    "School St",
    "Union St",
    "Prospect Ave",
    "Valley View Dr",
];

/// A city identified by (state index, city index) in [`STATES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CityRef {
    /// Index into [`STATES`].
    pub state: usize,
    /// Index into that state's `cities`.
    pub city: usize,
}

/// Every city in table order (the order hospitals are numbered in).
pub fn all_cities() -> impl Iterator<Item = CityRef> {
    STATES
        .iter()
        .enumerate()
        .flat_map(|(s, st)| (0..st.cities.len()).map(move |c| CityRef { state: s, city: c }))
}

/// Position of a city in [`all_cities`] order.
pub fn city_ordinal(city: CityRef) -> usize {
    STATES[..city.state]
        .iter()
        .map(|s| s.cities.len())
        .sum::<usize>()
        + city.city
}
