#include "rules/expression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "eval_helpers.h"

namespace idsync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const AttributeMap kPerson = {
    {"givenName", {"Ada"}},
    {"sn", {"Lovelace"}},
    {"mail", {"ada@example.com"}},
    {"proxyAddresses", {"smtp:a@x", "smtp:b@x"}},
    {"otherPhone", {"1", "2", "3"}},
    {"empty", {""}},
    {"zero", {"0"}},
    {"employee-id;lang-en", {"E42"}},
};

TEST(ExpressionTest, AttributeReferenceReturnsAllValues) {
  EXPECT_THAT(Eval("proxyAddresses", kPerson), ElementsAre("smtp:a@x", "smtp:b@x"));
  EXPECT_THAT(Eval("mail", kPerson), ElementsAre("ada@example.com"));
}

TEST(ExpressionTest, AttributeLookupIgnoresCase) {
  EXPECT_THAT(Eval("GIVENNAME", kPerson), ElementsAre("Ada"));
  EXPECT_THAT(Eval("lower(GivenName)", kPerson), ElementsAre("ada"));
}

TEST(ExpressionTest, AbsentAttributeIsNull) { EXPECT_THAT(Eval("manager", kPerson), IsEmpty()); }

TEST(ExpressionTest, MissingAttributeMapBehavesAsAnObjectWithNoAttributes) {
  auto expr = Expression::Parse("coalesce(mail, \"none\")");
  ASSERT_TRUE(expr) << expr.error().message;
  auto result = expr->Evaluate(EvalContext{});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_THAT(*result, ElementsAre("none"));
  auto plain = Expression::Parse("mail");
  ASSERT_TRUE(plain);
  EXPECT_THAT(*plain->Evaluate(EvalContext{}), IsEmpty());
}

// A connector space object's DN is read as the attribute `dn` without being
// one of its attributes; a real `dn` attribute wins.
TEST(ExpressionTest, TheGivenDnIsReadAsTheAttributeDnUnlessTheObjectHasOne) {
  const Values dn{"uid=ada,ou=people"};
  auto eval = [&](const char* text, const AttributeMap* attrs) {
    auto e = Expression::Parse(text);
    EXPECT_TRUE(e);
    auto v = e->Evaluate(EvalContext{attrs, nullptr, &dn});
    EXPECT_TRUE(v);
    return v ? *v : Values{};
  };
  EXPECT_THAT(eval("dn", &kPerson), ElementsAre("uid=ada,ou=people"));
  EXPECT_THAT(eval("DN", &kPerson), ElementsAre("uid=ada,ou=people"));
  EXPECT_THAT(eval("lower(Dn) & \"!\"", &kPerson), ElementsAre("uid=ada,ou=people!"));
  EXPECT_THAT(eval("dn", nullptr), ElementsAre("uid=ada,ou=people"));
  EXPECT_THAT(eval("dnx", &kPerson), IsEmpty());
  const AttributeMap with_dn = {{"DN", {"cn=own"}}};
  EXPECT_THAT(eval("dn", &with_dn), ElementsAre("cn=own"));
  EXPECT_THAT(eval("dn & \"\"", &with_dn), ElementsAre("cn=own"));
  EXPECT_THAT(Eval("dn", kPerson), IsEmpty()) << "no DN given: an ordinary absent attribute";
}

TEST(ExpressionTest, BackquotedNameReferencesAttributeWithOtherCharacters) {
  EXPECT_THAT(Eval("`employee-id;lang-en`", kPerson), ElementsAre("E42"));
  EXPECT_THAT(Expression::Parse("`employee-id;lang-en` & sn")->ReferencedAttributes(),
              ElementsAre("employee-id;lang-en", "sn"));
}

TEST(ExpressionTest, StringLiteralEscapesAreDecoded) {
  EXPECT_THAT(Eval(R"("a\"b\\c\nd\te")"), ElementsAre("a\"b\\c\nd\te"));
  EXPECT_THAT(Eval(R"("")"), ElementsAre(""));
}

TEST(ExpressionTest, IntegerLiteralEvaluatesToItsDecimalText) {
  EXPECT_THAT(Eval("42"), ElementsAre("42"));
  EXPECT_THAT(Eval("-7"), ElementsAre("-7"));
  EXPECT_THAT(Eval("007"), ElementsAre("7"));
}

TEST(ExpressionTest, ConcatenationJoinsSingleValues) {
  EXPECT_THAT(Eval(R"(givenName & "." & sn & "@example.com")", kPerson),
              ElementsAre("Ada.Lovelace@example.com"));
}

TEST(ExpressionTest, ConcatenationTreatsNullAsEmpty) {
  EXPECT_THAT(Eval(R"(manager & "x" & title)", kPerson), ElementsAre("x"));
  EXPECT_THAT(Eval(R"(sn & manager)", kPerson), ElementsAre("Lovelace"));
}

TEST(ExpressionTest, ConcatenationOfOnlyNullsIsNull) {
  EXPECT_THAT(Eval("manager & title & null()", kPerson), IsEmpty());
  // An empty string is a value, not null.
  EXPECT_THAT(Eval(R"(manager & "")", kPerson), ElementsAre(""));
}

TEST(ExpressionTest, ConcatenationAppliesPerValueOfAMultiValuedSide) {
  EXPECT_THAT(Eval(R"("tel:" & otherPhone)", kPerson), ElementsAre("tel:1", "tel:2", "tel:3"));
  EXPECT_THAT(Eval(R"(otherPhone & "#")", kPerson), ElementsAre("1#", "2#", "3#"));
  EXPECT_THAT(Eval(R"("<" & manager & otherPhone & sn & ">")", kPerson),
              ElementsAre("<1Lovelace>", "<2Lovelace>", "<3Lovelace>"));
}

TEST(ExpressionTest, ConcatenatingTwoMultiValuedOperandsIsAnError) {
  std::string message = EvalError("otherPhone & proxyAddresses", kPerson);
  EXPECT_THAT(message, HasSubstr("'&'"));
  EXPECT_THAT(message, HasSubstr("multi-valued"));
}

TEST(ExpressionTest, LongConcatenationChainsKeepEveryOperand) {
  // More operands than the evaluator keeps on the stack.
  EXPECT_THAT(Eval(R"("a"&"b"&"c"&"d"&"e"&"f"&"g"&"h"&"i"&"j"&otherPhone)", kPerson),
              ElementsAre("abcdefghij1", "abcdefghij2", "abcdefghij3"));
}

TEST(ExpressionTest, EqualityComparesFirstValues) {
  EXPECT_THAT(Eval(R"(sn == "Lovelace")", kPerson), ElementsAre("true"));
  EXPECT_THAT(Eval(R"(sn == "lovelace")", kPerson), IsEmpty());
  EXPECT_THAT(Eval(R"(otherPhone == "1")", kPerson), ElementsAre("true"));
  EXPECT_THAT(Eval(R"(1 == "1")", kPerson), ElementsAre("true"));
}

TEST(ExpressionTest, NullEqualsOnlyNull) {
  EXPECT_THAT(Eval("manager == title", kPerson), ElementsAre("true"));
  EXPECT_THAT(Eval(R"(manager == "")", kPerson), IsEmpty());
  EXPECT_THAT(Eval("empty == manager", kPerson), IsEmpty());
}

TEST(ExpressionTest, NotEqualIsTheNegationOfEqual) {
  EXPECT_THAT(Eval(R"(sn != "Lovelace")", kPerson), IsEmpty());
  EXPECT_THAT(Eval(R"(sn != "Byron")", kPerson), ElementsAre("true"));
  EXPECT_THAT(Eval(R"(manager != "")", kPerson), ElementsAre("true"));
}

TEST(ExpressionTest, LogicalOperatorsReturnTrueOrNull) {
  EXPECT_THAT(Eval(R"(sn && givenName)", kPerson), ElementsAre("true"));
  EXPECT_THAT(Eval(R"(sn && zero)", kPerson), IsEmpty());
  EXPECT_THAT(Eval(R"(manager || empty)", kPerson), IsEmpty());
  EXPECT_THAT(Eval(R"(manager || sn)", kPerson), ElementsAre("true"));
}

TEST(ExpressionTest, LogicalOperatorsShortCircuit) {
  // The right side would fail: left() needs a number.
  EXPECT_THAT(Eval(R"(zero && left(sn, "x"))", kPerson), IsEmpty());
  EXPECT_THAT(Eval(R"(sn || left(sn, "x"))", kPerson), ElementsAre("true"));
  EXPECT_THAT(EvalError(R"(sn && left(sn, "x"))", kPerson), HasSubstr("left"));
}

TEST(ExpressionTest, NotInvertsTruthiness) {
  EXPECT_THAT(Eval("!manager", kPerson), ElementsAre("true"));
  EXPECT_THAT(Eval("!sn", kPerson), IsEmpty());
  EXPECT_THAT(Eval("!!sn", kPerson), ElementsAre("true"));
}

TEST(ExpressionTest, TruthinessFollowsTheFirstValue) {
  EXPECT_FALSE(IsTruthy({}));
  EXPECT_FALSE(IsTruthy({""}));
  EXPECT_FALSE(IsTruthy({"0"}));
  EXPECT_FALSE(IsTruthy({"false"}));
  EXPECT_FALSE(IsTruthy({"FALSE"}));  // LDAP booleans are upper case
  EXPECT_FALSE(IsTruthy({"0", "1"}));
  EXPECT_TRUE(IsTruthy({"1"}));
  EXPECT_TRUE(IsTruthy({"no"}));
  EXPECT_TRUE(IsTruthy({"00"}));
  EXPECT_TRUE(IsTruthy({"true", ""}));
}

TEST(ExpressionTest, NotBindsTighterThanConcatenation) {
  // (!sn) & "x" is null & "x"; !(sn & "x") would be null.
  EXPECT_THAT(Eval(R"(!sn & "x")", kPerson), ElementsAre("x"));
}

TEST(ExpressionTest, ConcatenationBindsTighterThanComparison) {
  EXPECT_THAT(Eval(R"(givenName & "!" == "Ada!")", kPerson), ElementsAre("true"));
}

TEST(ExpressionTest, ComparisonBindsTighterThanAnd) {
  // ("a" == "a") && "b" is true; "a" == ("a" && "b") would be null.
  EXPECT_THAT(Eval(R"("a" == "a" && "b")"), ElementsAre("true"));
}

TEST(ExpressionTest, AndBindsTighterThanOr) {
  EXPECT_THAT(Eval(R"("1" || "" && "")"), ElementsAre("true"));
}

TEST(ExpressionTest, ParenthesesOverridePrecedence) {
  EXPECT_THAT(Eval(R"(("1" || "") && "")"), IsEmpty());
  EXPECT_THAT(Eval(R"(!(sn & "x"))", kPerson), IsEmpty());
}

TEST(ExpressionTest, FunctionNamesIgnoreCase) {
  EXPECT_THAT(Eval("LOWER(sn) & Upper(sn) & ISPRESENT(sn)", kPerson),
              ElementsAre("lovelaceLOVELACEtrue"));
}

TEST(ExpressionTest, ReferencedAttributesAreDeduplicatedIgnoringCase) {
  auto expr =
      Expression::Parse("lower(givenName) & GIVENNAME & sn & iif(isPresent(mail), mail, sn)");
  ASSERT_TRUE(expr) << expr.error().message;
  EXPECT_THAT(expr->ReferencedAttributes(), ElementsAre("givenName", "sn", "mail"));
}

TEST(ExpressionTest, CalledFunctionsListsOnlyExtensionFunctions) {
  auto expr = Expression::Parse("lower(normalize(sn)) & normalize(givenName) & Initials(sn)");
  ASSERT_TRUE(expr) << expr.error().message;
  EXPECT_THAT(expr->CalledFunctions(), ElementsAre("normalize", "Initials"));
}

TEST(ExpressionTest, TextReturnsTheSource) {
  auto expr = Expression::Parse(" lower(sn) ");
  ASSERT_TRUE(expr);
  EXPECT_EQ(expr->text(), " lower(sn) ");
}

TEST(ExpressionTest, DefaultConstructedExpressionIsNull) {
  Expression expr;
  EXPECT_THAT(*expr.Evaluate(EvalContext{&kPerson}), IsEmpty());
  EXPECT_THAT(expr.ReferencedAttributes(), IsEmpty());
  EXPECT_EQ(expr.text(), "");
}

TEST(ExpressionTest, CopiesEvaluateLikeTheOriginal) {
  Expression copy;
  {
    auto expr = Expression::Parse("upper(sn)");
    ASSERT_TRUE(expr);
    copy = *expr;
  }
  EXPECT_THAT(*copy.Evaluate(EvalContext{&kPerson}), ElementsAre("LOVELACE"));
}

TEST(ExpressionTest, SeveralThreadsCanEvaluateOneExpression) {
  auto expr = Expression::Parse(R"(lower(givenName) & "." & lower(sn) & count(otherPhone))");
  ASSERT_TRUE(expr);
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      AttributeMap attrs = {{"givenName", {"G" + std::to_string(t)}}, {"sn", {"S"}}};
      for (int i = 0; i < 2000; ++i) {
        auto v = expr->Evaluate(EvalContext{&attrs});
        if (!v || *v != Values{"g" + std::to_string(t) + ".s0"}) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(wrong, ElementsAre(0, 0, 0, 0));
}

// --- syntax errors ---

TEST(ExpressionTest, SyntaxErrorNamesTheColumn) {
  EXPECT_EQ(ParseError("lower(givenName"),
            "column 16: expected ')' after arguments of lower, found end of input");
  EXPECT_EQ(ParseError("lower(givenName sn)"),
            "column 17: expected ')' after arguments of lower, found identifier 'sn'");
}

TEST(ExpressionTest, ColumnsCountCharactersNotBytes) {
  EXPECT_THAT(ParseError(R"("Zoë" & )"), HasSubstr("column 9: expected an expression"));
}

TEST(ExpressionTest, MissingOperandIsASyntaxError) {
  EXPECT_EQ(ParseError("sn &"), "column 5: expected an expression, found end of input");
  EXPECT_EQ(ParseError("&& sn"), "column 1: expected an expression, found '&&'");
}

TEST(ExpressionTest, EmptyExpressionIsASyntaxError) {
  EXPECT_EQ(ParseError(""), "column 1: expected an expression, found end of input");
  EXPECT_EQ(ParseError("   "), "column 4: expected an expression, found end of input");
}

TEST(ExpressionTest, UnclosedParenthesisNamesWhereItOpened) {
  EXPECT_EQ(ParseError("(sn & mail"),
            "column 11: expected ')' to close the '(' at column 1, found end of input");
}

TEST(ExpressionTest, TrailingTokensAreASyntaxError) {
  EXPECT_EQ(ParseError("sn mail"),
            "column 4: expected an operator or end of expression, found identifier 'mail'");
  EXPECT_THAT(ParseError("sn)"), HasSubstr("column 3:"));
}

TEST(ExpressionTest, HyphenatedNameNeedsBackquotes) {
  std::string message = ParseError("employee-id");
  EXPECT_THAT(message, HasSubstr("column 9:"));
  EXPECT_THAT(message, HasSubstr("`employee-id`"));
}

TEST(ExpressionTest, UnterminatedStringIsASyntaxError) {
  EXPECT_EQ(ParseError(R"(sn & "abc)"), "column 6: unterminated string literal");
  EXPECT_EQ(ParseError(R"("abc\)"), "column 1: unterminated string literal");
}

TEST(ExpressionTest, UnknownEscapeIsASyntaxError) {
  EXPECT_THAT(ParseError(R"("a\qb")"), HasSubstr("column 3: unknown escape '\\q'"));
}

TEST(ExpressionTest, UnterminatedOrEmptyBackquoteIsASyntaxError) {
  EXPECT_THAT(ParseError("`abc"), HasSubstr("column 1: unterminated"));
  EXPECT_THAT(ParseError("``"), HasSubstr("column 1: empty attribute name"));
}

TEST(ExpressionTest, SingleOperatorCharactersSuggestTheDoubleForm) {
  EXPECT_THAT(ParseError("sn = mail"), HasSubstr("column 4: unexpected '=' (did you mean '=='?)"));
  EXPECT_THAT(ParseError("sn | mail"), HasSubstr("column 4: unexpected '|' (did you mean '||'?)"));
  EXPECT_THAT(ParseError("sn + mail"), HasSubstr("column 4: unexpected character '+'"));
}

TEST(ExpressionTest, ChainedComparisonIsASyntaxError) {
  EXPECT_THAT(ParseError("sn == mail == cn"),
              HasSubstr("column 12: comparisons cannot be chained"));
  EXPECT_TRUE(Expression::Parse("(sn == mail) == cn"));
}

TEST(ExpressionTest, WrongArityOfABuiltinIsASyntaxError) {
  EXPECT_EQ(ParseError("sn & lower(sn, mail)"), "column 6: lower takes 1 argument, got 2");
  EXPECT_EQ(ParseError("mid(sn, 1)"), "column 1: mid takes 3 arguments, got 2");
  EXPECT_EQ(ParseError("coalesce()"), "column 1: coalesce takes at least 1 argument, got 0");
  EXPECT_EQ(ParseError("null(sn)"), "column 1: null takes no arguments, got 1");
  EXPECT_EQ(ParseError("IIF(sn, mail)"), "column 1: iif takes 3 arguments, got 2");
}

TEST(ExpressionTest, MissingArgumentIsASyntaxError) {
  EXPECT_EQ(ParseError("left(sn, )"), "column 10: expected an expression, found ')'");
}

TEST(ExpressionTest, MalformedNumbersAreSyntaxErrors) {
  EXPECT_EQ(ParseError("left(sn, 12ab)"), "column 10: invalid number '12ab'");
  EXPECT_THAT(ParseError("99999999999999999999"),
              HasSubstr("column 1: integer 99999999999999999999 is out of range"));
}

TEST(ExpressionTest, DeepNestingIsRejectedNotACrash) {
  EXPECT_THAT(ParseError(std::string(100000, '(') + "sn"), HasSubstr("nested too deeply"));
  EXPECT_THAT(ParseError(std::string(100000, '!') + "sn"), HasSubstr("nested too deeply"));
  std::string calls;
  for (int i = 0; i < 50000; ++i) calls += "lower(";
  EXPECT_THAT(ParseError(calls + "sn"), HasSubstr("nested too deeply"));
}

TEST(ExpressionTest, ModerateNestingIsAccepted) {
  EXPECT_THAT(Eval(std::string(100, '(') + "sn" + std::string(100, ')'), kPerson),
              ElementsAre("Lovelace"));
}

TEST(ExpressionTest, LongOperatorChainsEvaluateWithoutDeepRecursion) {
  std::string ands = "sn", ors = "manager", cat = "\"\"";
  for (int i = 0; i < 100000; ++i) {
    ands += " && sn";
    ors += " || manager";
    cat += " & \"x\"";
  }
  EXPECT_THAT(Eval(ands, kPerson), ElementsAre("true"));
  EXPECT_THAT(Eval(ors + " || sn", kPerson), ElementsAre("true"));
  EXPECT_EQ(Eval(cat).at(0).size(), 100000u);
}

}  // namespace
}  // namespace idsync
