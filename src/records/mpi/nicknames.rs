//! Given-name equivalence for matching: groups of a formal English given name and the
//! short forms and nicknames commonly registered instead. Written for chartroom from
//! common usage (no outside list copied). A name may sit in several groups (`ALEX`).

/// Each group: the formal name first, then its variants (normalised: upper-case ASCII).
const GROUPS: &[&[&str]] = &[
    &["ABIGAIL", "ABBY", "ABBIE", "GAIL"],
    &["ALBERT", "AL", "BERT", "BERTIE"],
    &["ALEXANDER", "ALEX", "AL", "ALEC", "SANDY", "XANDER", "LEX"],
    &[
        "ALEXANDRA",
        "ALEX",
        "ALEXA",
        "SANDRA",
        "SANDY",
        "LEXI",
        "ALLIE",
    ],
    &["ALFRED", "AL", "ALF", "FRED", "FREDDIE"],
    &["ALLISON", "ALLIE", "ALLY", "ALI"],
    &["AMANDA", "MANDY", "MANDA", "AMY"],
    &["ANDREW", "ANDY", "DREW", "ANDRE"],
    &["ANGELA", "ANGIE", "ANGEL"],
    &["ANN", "ANNE", "ANNIE", "ANNA", "NAN", "NANCY", "NANNIE"],
    &["ANTHONY", "TONY", "ANT"],
    &["ARTHUR", "ART", "ARTIE"],
    &["BARBARA", "BARB", "BARBIE", "BABS", "BOBBIE"],
    &["BENJAMIN", "BEN", "BENNY", "BENJI"],
    &["BERNARD", "BERNIE"],
    &["BEVERLY", "BEV"],
    &["BRADLEY", "BRAD"],
    &["CAROLINE", "CAROL", "CARRIE", "CARLY", "CARO"],
    &[
        "CATHERINE",
        "CATHY",
        "CATE",
        "CAT",
        "KATE",
        "KATIE",
        "KAY",
        "KITTY",
        "TRINA",
    ],
    &["CHARLES", "CHARLIE", "CHUCK", "CHAS", "CHAZ", "CHIP"],
    &["CHRISTINA", "CHRIS", "TINA", "CHRISSY", "KRISTY", "CHRISTY"],
    &["CHRISTINE", "CHRIS", "TINA", "CHRISSY", "CHRISTY"],
    &["CHRISTOPHER", "CHRIS", "KIT", "TOPHER", "CHRISTY"],
    &["CYNTHIA", "CINDY", "CYNDI"],
    &["DANIEL", "DAN", "DANNY"],
    &["DAVID", "DAVE", "DAVEY", "DAVY"],
    &["DEBORAH", "DEBBIE", "DEB", "DEBRA", "DEBBY"],
    &["DENNIS", "DENNY"],
    &["DONALD", "DON", "DONNIE", "DONNY"],
    &["DONNA", "DONNIE"],
    &["DOROTHY", "DOT", "DOTTIE", "DOTTY", "DOLLY", "DORA"],
    &["DOUGLAS", "DOUG"],
    &["EDWARD", "ED", "EDDIE", "EDDY", "TED", "TEDDY", "NED"],
    &["EDWIN", "ED", "EDDIE"],
    &["ELEANOR", "ELLIE", "NELL", "NELLIE", "NORA", "ELLA"],
    &[
        "ELIZABETH",
        "LIZ",
        "LIZZIE",
        "BETH",
        "BETTY",
        "BETSY",
        "ELIZA",
        "LIBBY",
        "LISA",
        "ELLIE",
        "BESS",
        "BESSIE",
        "LIZA",
    ],
    &["EMILY", "EM", "EMMY", "MILLIE"],
    &["EUGENE", "GENE"],
    &["FRANCES", "FRAN", "FRANNIE", "FRANKIE"],
    &["FRANCIS", "FRANK", "FRANKIE", "FRAN"],
    &["FRANKLIN", "FRANK"],
    &["FREDERICK", "FRED", "FREDDIE", "FREDDY", "RICK"],
    &["GABRIEL", "GABE"],
    &["GEORGE", "GEORGIE"],
    &["GERALD", "GERRY", "JERRY"],
    &["GREGORY", "GREG"],
    &["HARRISON", "HARRY"],
    &["HAROLD", "HAL", "HARRY"],
    &["HENRY", "HANK", "HARRY", "HAL"],
    &["HERBERT", "HERB", "BERT"],
    &["HOWARD", "HOWIE"],
    &["ISABELLA", "ISABEL", "BELLA", "IZZY", "ISSY"],
    &["JACQUELINE", "JACKIE", "JACQUI"],
    &["JAMES", "JIM", "JIMMY", "JIMMIE", "JAMIE", "JEM"],
    &["JANET", "JAN", "JANIE"],
    &["JANICE", "JAN"],
    &["JEFFREY", "JEFF", "GEOFFREY", "GEOFF"],
    &["JENNIFER", "JENNY", "JEN", "JENN", "JENNI"],
    &["JEROME", "JERRY"],
    &["JESSICA", "JESS", "JESSIE"],
    &["JOAN", "JOANIE", "JO"],
    &["JOHN", "JACK", "JOHNNY", "JON", "JONNY"],
    &["JONATHAN", "JON", "JONNY", "NATHAN"],
    &["JOSEPH", "JOE", "JOEY", "JOS"],
    &["JOSEPHINE", "JO", "JOSIE", "JOSEY"],
    &["JOSHUA", "JOSH"],
    &["JUDITH", "JUDY", "JUDE"],
    &[
        "KATHERINE",
        "KATHY",
        "KATE",
        "KATIE",
        "KAT",
        "KAY",
        "KITTY",
        "KATHRYN",
        "KATHLEEN",
    ],
    &["KENNETH", "KEN", "KENNY"],
    &["KIMBERLY", "KIM", "KIMMY"],
    &["LAWRENCE", "LARRY", "LAURIE", "LAURENCE"],
    &["LEONARD", "LEN", "LENNY", "LEO"],
    &["LOUIS", "LOU", "LOUIE"],
    &["LOUISE", "LOU", "LOUISA"],
    &[
        "MARGARET", "MAGGIE", "MEG", "PEGGY", "MARGE", "MARGIE", "GRETA", "MADGE", "PEG", "DAISY",
        "MAISIE", "RITA",
    ],
    &[
        "MARIA", "MARY", "MARIE", "MOLLY", "MAMIE", "POLLY", "MAE", "MAY",
    ],
    &["MARTHA", "MARTY", "PATTY", "MATTIE"],
    &["MARTIN", "MARTY"],
    &["MATTHEW", "MATT", "MATTY"],
    &["MELISSA", "MEL", "MISSY", "LISSA"],
    &["MICHAEL", "MIKE", "MICKEY", "MICK", "MIKEY", "MITCH"],
    &["MICHELLE", "SHELLY", "MICHELE", "SHELLEY"],
    &["MILDRED", "MILLIE"],
    &["NATHANIEL", "NATE", "NATHAN", "NAT"],
    &["NICHOLAS", "NICK", "NICKY", "NICO"],
    &["NICOLE", "NIKKI", "NICKY", "COLE"],
    &["OLIVIA", "LIV", "LIVVY", "OLLIE"],
    &["PAMELA", "PAM", "PAMMY"],
    &[
        "PATRICIA", "PAT", "PATTY", "PATSY", "TRISH", "TRICIA", "TRISHA",
    ],
    &["PATRICK", "PAT", "PADDY", "RICK"],
    &["PETER", "PETE"],
    &["PHILIP", "PHIL", "PHILLIP", "PIP"],
    &["RAYMOND", "RAY"],
    &["REBECCA", "BECKY", "BECCA", "REBA"],
    &["RICHARD", "RICK", "RICKY", "DICK", "RICH", "RICHIE"],
    &["ROBERT", "BOB", "BOBBY", "ROB", "ROBBIE", "BERT", "ROBIN"],
    &["RONALD", "RON", "RONNIE", "RONNY"],
    &["ROSEMARY", "ROSE", "ROSIE"],
    &["SAMANTHA", "SAM", "SAMMY", "SAMMIE"],
    &["SAMUEL", "SAM", "SAMMY"],
    &["SANDRA", "SANDY", "SANDI"],
    &["SARAH", "SARA", "SALLY", "SADIE"],
    &["STEPHANIE", "STEPH", "STEFFI", "STEVIE"],
    &["STEPHEN", "STEVE", "STEVIE", "STEVEN"],
    &["STEVEN", "STEVE", "STEVIE"],
    &["SUSAN", "SUE", "SUSIE", "SUZY", "SUZANNE", "SUSANNE"],
    &[
        "TERESA", "TERRY", "TESS", "TESSA", "TERRI", "THERESA", "TESSIE",
    ],
    &["THEODORE", "TED", "TEDDY", "THEO"],
    &["THOMAS", "TOM", "TOMMY"],
    &["TIMOTHY", "TIM", "TIMMY"],
    &["VALERIE", "VAL"],
    &["VICTORIA", "VICKY", "VICKIE", "TORI", "VICKI"],
    &["VINCENT", "VINCE", "VINNY"],
    &["VIRGINIA", "GINNY", "GINGER", "VIRGIE"],
    &["WALTER", "WALT", "WALLY"],
    &[
        "WILLIAM", "BILL", "BILLY", "WILL", "WILLY", "WILLIE", "LIAM",
    ],
    &["ZACHARY", "ZACH", "ZACK", "ZAK"],
];

/// True when two normalised given names are the same name or belong to one group.
pub fn equivalent(a: &str, b: &str) -> bool {
    a == b
        || GROUPS
            .iter()
            .any(|group| group.contains(&a) && group.contains(&b))
}

/// The formal names a given name may stand for (itself first), for blocking keys.
pub fn formal_forms(name: &str) -> Vec<&str> {
    let mut out = vec![name];
    for group in GROUPS {
        if group[1..].contains(&name) && !out.contains(&group[0]) {
            out.push(group[0]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_and_formal_names_are_equivalent() {
        assert!(equivalent("BILL", "WILLIAM"));
        assert!(equivalent("WILLIAM", "BILL"));
        assert!(equivalent("PEGGY", "MARGARET"));
        assert!(equivalent("BOB", "ROBBIE"));
        assert!(!equivalent("BILL", "ROBERT"));
        assert_eq!(formal_forms("ALEX"), vec!["ALEX", "ALEXANDER", "ALEXANDRA"]);
        assert_eq!(formal_forms("WILLIAM"), vec!["WILLIAM"]);
    }

    #[test]
    fn every_name_is_normalised() {
        for group in GROUPS {
            for name in *group {
                assert!(name.chars().all(|c| c.is_ascii_uppercase()), "{name}");
            }
        }
    }
}
